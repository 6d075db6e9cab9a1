"""`python -m src.export` for task=header: ONNX and TorchScript exports of a csn_tiny and a vmae_tiny run reload
(onnxruntime / torch.jit.load) and give the run's logits within 1e-4 on its validation clips; export.json holds
what a deployment reads; an existing export is replaced only with overwrite=true; gone data -> random inputs."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from hydra import compose, initialize_config_dir

import src.core.run_naming  # noqa: F401  (the run_tag resolver the header config uses)
from src.core.provenance import file_sha256
from src.header.data.dataset import read_header_csv
from src.header.export import parity_inputs
from src.header.run_loading import load_header_run
from src.train import train

REPO = Path(__file__).resolve().parents[2]
TINY_RUN = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
            "dataset.synthetic.size=32", "~callbacks.progress_bar", "logger=csv"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder with two 1-epoch tiny header runs: report/header_experiments/csn and …/vmae."""
    root = tmp_path_factory.mktemp("export")
    environ, threads = dict(os.environ), torch.get_num_threads()
    try:  # train() sets the run folder's environment variable and torch's threads: put them back
        for backbone in ("csn_tiny", "vmae_tiny"):
            with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
                cfg = compose("train", overrides=[*TINY_RUN, f"backbone={backbone}", f"run_name={backbone[:-5]}",
                                                  f"paths.root_dir={root}", f"paths.output_dir={root}/out"])
            train(cfg)
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return root


def _run_exported(path: Path, fmt: str, video: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["video"]
        return torch.from_numpy(session.run(["logits"], {"video": video.numpy()})[0])
    return torch.jit.load(str(path))(video)


@pytest.mark.parametrize("backbone, fmt", [("csn", "onnx"), ("csn", "torchscript"), ("vmae", "onnx"),
                                           ("vmae", "torchscript")])
def test_export_reloads_and_matches_the_run_within_1e_4(cli, workspace, backbone, fmt):
    run_dir = workspace / "report" / "header_experiments" / backbone
    result = cli([f"run={backbone}", f"format={fmt}", f"output={workspace}/{backbone}_{fmt}"], workspace,
                 module="src.export")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = workspace / f"{backbone}_{fmt}"
    model_file = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}[fmt]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["export.json", model_file])
    info = json.loads((folder / "export.json").read_text())
    run = load_header_run(backbone, workspace / "report" / "header_experiments")
    best = json.loads((run_dir / "best_metrics.json").read_text())
    assert info["format"] == fmt and info["file"] == model_file and info["task"] == "header"
    assert info["run_dir"] == str(run_dir) and info["checkpoint"] == best["checkpoint"]
    assert info["checkpoint_sha256"] == file_sha256(run_dir / best["checkpoint"])
    assert info["input"] == {"name": "video", "shape": [None, 3, 8, 32, 32], "dtype": "float32",
                             "layout": "B,3,T,H,W"}
    assert info["output"] == {"name": "logits", "shape": [None, 2]}
    assert info["mean"] == run.config["backbone"]["mean"] and info["std"] == run.config["backbone"]["std"]
    assert (info["num_frames"], info["image_size"]) == (8, 32)
    assert info["threshold"] == best["best_threshold"]["threshold"] and info["class_names"] == ["no_header", "header"]
    assert info["torch_version"] == torch.__version__
    if fmt == "onnx":
        assert (info["opset"], info["onnxruntime_version"]) == (18, onnxruntime.__version__)
        assert info["exporter"] in ("dynamo", "torchscript")
    else:
        assert (info["opset"], info["onnxruntime_version"], info["exporter"]) == (None, None, "torch.jit.trace")
    val_csv = workspace / "data" / "synthetic" / "header" / "val.csv"
    assert info["parity"]["source"] == f"the first 4 clips of dataset.val_csv={val_csv}"
    assert info["parity"]["num_inputs"] == 4 and info["parity"]["tolerance"] == 1e-4
    assert 0 <= info["parity"]["max_abs_diff"] <= 1e-4

    # Reloaded here, on the run's own validation clips (a batch of 3: not the batch the export was traced with).
    clips, _ = parity_inputs(run.config["dataset"], run.config["backbone"], 3)
    table = read_header_csv(val_csv, check_clips=False, max_bad_fraction=1.0)
    assert clips.shape == (3, 3, 8, 32, 32) and len(table.rows) >= 3
    with torch.no_grad():
        expected = run.net(clips)
        exported = _run_exported(folder / model_file, fmt, clips)
    assert exported.shape == (3, 2)
    np.testing.assert_allclose(exported.numpy(), expected.numpy(), atol=1e-4, rtol=0)


def test_an_existing_export_is_replaced_only_with_overwrite(cli, workspace):
    run_dir = workspace / "report" / "header_experiments" / "csn"
    first = cli(["run=csn", "format=torchscript"], workspace, module="src.export")
    assert first.returncode == 0, first.stderr[-3000:]
    folder = run_dir / "export"  # the default: <run folder>/export
    assert json.loads((folder / "export.json").read_text())["format"] == "torchscript"
    before = (folder / "model.torchscript.pt").read_bytes()

    again = cli(["run=csn", "format=onnx"], workspace, module="src.export")
    lines = again.stderr.strip().splitlines()
    assert again.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert f"output={folder}: already holds an export; pass overwrite=true" in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.torchscript.pt"]
    assert (folder / "model.torchscript.pt").read_bytes() == before

    replaced = cli(["run=csn", "format=onnx", "overwrite=true"], workspace, module="src.export")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.onnx"]
    assert json.loads((folder / "export.json").read_text())["format"] == "onnx"
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".export")]  # no staging folder left
    shutil.rmtree(folder)


def test_a_run_whose_data_is_gone_is_checked_on_seeded_random_inputs(cli, workspace, tmp_path):
    moved = tmp_path / "vmae"
    shutil.copytree(workspace / "report" / "header_experiments" / "vmae", moved)
    config = moved / "config.yaml"
    config.write_text(config.read_text().replace(str(workspace / "data"), str(tmp_path / "gone")))
    result = cli([f"run={moved}", "format=onnx", "parity.num_inputs=2"], tmp_path, module="src.export")
    assert result.returncode == 0, result.stderr[-3000:]
    parity = json.loads((moved / "export" / "export.json").read_text())["parity"]
    assert parity["source"].startswith("random normal inputs, seed 0 (the run's data is gone: ")
    assert "gone/synthetic/header/val.csv" in parity["source"]
    assert parity["num_inputs"] == 2 and parity["max_abs_diff"] <= 1e-4
