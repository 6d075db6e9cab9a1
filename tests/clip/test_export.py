"""`python -m src.export` for task=clip: ONNX and TorchScript exports of a clip_tiny run reload (onnxruntime /
torch.jit.load) and give the run's class logits within 1e-4 on videos of its dataset, with the class text
features stored in the file (the exported model takes the video only); export.json holds what a deployment reads."""
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from src.clip.export import FixedTextClassifier, parity_inputs
from src.clip.run_loading import load_clip_run
from src.core.provenance import file_sha256


@pytest.fixture(scope="module")
def clip_run(tiny_clip_run, tmp_path_factory, synthetic_root) -> tuple[Path, Path]:
    """(workspace, run folder): one epoch of video_coop with the tiny CLIP on the synthetic set."""
    from src.train import train
    from tests.composed import compose_config

    tmp = tmp_path_factory.mktemp("clip_export")
    environ, threads = dict(os.environ), torch.get_num_threads()
    try:  # train() sets the run folder's environment variable and torch's threads: put them back
        train(compose_config(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                              "method.ctx_len=4", "trainer.max_epochs=1", "run_id=r"], tmp))
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return tmp, tmp / "models" / "video_coop" / "ucf101" / "r"


def _run_exported(path: Path, fmt: str, video: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["video"]  # the video only: the text side is inside
        return torch.from_numpy(session.run(["logits"], {"video": video.numpy()})[0])
    return torch.jit.load(str(path))(video)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_reloads_and_matches_the_run_within_1e_4(cli, clip_run, synthetic_root, fmt):
    workspace, run_dir = clip_run
    result = cli(["run=video_coop/ucf101/r", f"format={fmt}", f"output={workspace}/{fmt}"], workspace,
                 module="src.export")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = workspace / fmt
    model_file = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}[fmt]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["export.json", model_file])
    info = json.loads((folder / "export.json").read_text())
    run = load_clip_run(str(run_dir), workspace / "models")
    assert info["format"] == fmt and info["file"] == model_file and info["task"] == "clip"
    assert info["run_dir"] == str(run_dir) and info["checkpoint"] == "checkpoint.pth"
    assert info["checkpoint_sha256"] == file_sha256(run_dir / "checkpoint.pth")
    size = run.config["backbone"]["image_size"]
    assert info["input"] == {"name": "video", "shape": [None, 1, 4, 3, size, size], "dtype": "float32",
                             "layout": "B,V,T,3,H,W"}
    assert info["output"] == {"name": "logits", "shape": [None, len(run.class_names)]}
    assert info["class_names"] == run.class_names and info["threshold"] is None
    assert info["mean"] == run.config["backbone"]["mean"] and info["std"] == run.config["backbone"]["std"]
    assert (info["num_frames"], info["image_size"]) == (4, size)
    assert info["opset"] == (18 if fmt == "onnx" else None)
    assert info["onnxruntime_version"] == (onnxruntime.__version__ if fmt == "onnx" else None)
    assert info["parity"]["source"] == f"the first 4 videos of the test split of dataset.root={synthetic_root}"
    assert info["parity"]["num_inputs"] == 4 and 0 <= info["parity"]["max_abs_diff"] <= 1e-4

    # Reloaded here, on 3 videos of the run's dataset: the file alone (video in) gives the run's logits.
    videos, _ = parity_inputs(run.config["dataset"], run.config["backbone"], 3, None)
    assert videos.shape == (3, 1, 4, 3, size, size)
    with torch.no_grad():
        expected = run.module.model(videos)  # text features encoded from the learned prompts, as src.predict does
        exported = _run_exported(folder / model_file, fmt, videos)
    assert exported.shape == (3, len(run.class_names))
    np.testing.assert_allclose(exported.numpy(), expected.numpy(), atol=1e-4, rtol=0)


def test_the_stored_text_features_are_the_learned_prompts_encoded_once(clip_run):
    workspace, run_dir = clip_run
    model = load_clip_run(str(run_dir), workspace / "models").module.model
    wrapped = FixedTextClassifier(model)
    assert torch.equal(wrapped.text_features, model.class_text_features())
    assert wrapped.text_features.shape[0] == len(model.class_names) and not wrapped.text_features.requires_grad
    assert "text_features" in dict(wrapped.named_buffers())  # saved with the traced module, not recomputed


def test_a_run_whose_dataset_is_gone_is_checked_on_seeded_random_inputs(clip_run, tmp_path):
    workspace, run_dir = clip_run
    config = load_clip_run(str(run_dir), workspace / "models").config
    gone = {**config["dataset"], "root": str(tmp_path / "gone")}
    videos, source = parity_inputs(gone, config["backbone"], 2, None)
    size = config["backbone"]["image_size"]
    assert videos.shape == (2, 1, 4, 3, size, size)
    assert source.startswith("random normal inputs, seed 0 (the run's data is gone: dataset root ")
    assert torch.equal(videos, parity_inputs(gone, config["backbone"], 2, None)[0])  # seeded: the same every time
