"""`python -m src.detect` with detect.engine=onnxruntime (the run's ONNX export) and detect.precision=bf16 on a
synthetic match: the same events.csv as PyTorch fp32, probabilities within 1e-4 (onnxruntime) and 1e-2 (bf16); an
engine that cannot run (fp16 on a CPU, a missing export, an export of another run / task / frame count, a model
file onnxruntime cannot load) is one error line before any output folder exists. `src.predict engine=onnxruntime`
on the run's clips equals PyTorch within 1e-4."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

import src.core.run_naming  # noqa: F401  (the run_tag resolver the header config uses)
from src.synthetic.match_video import render_match_video
from src.train import train
from tests.onnx_export import export_header_run

REPO = Path(__file__).resolve().parents[2]
TINY_RUN = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
            "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=tiny", "logger=csv"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A 1-epoch tiny header run (report/header_experiments/tiny) with its ONNX export, and a 12 s match video."""
    root = tmp_path_factory.mktemp("detect_engines")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY_RUN, f"paths.root_dir={root}", f"paths.output_dir={root}/out"])
    train(cfg)
    export_header_run(root / "report" / "header_experiments" / "tiny")
    render_match_video(root / "match.mp4", seed=5, duration_s=12, fps=10, size=32)
    return root


def _detect(cli, workspace: Path, out: Path, *extra: str):
    # threshold 0: every peak of the smoothed probability is an event, so events.csv follows the probabilities
    return cli(["run=tiny", f"video={workspace / 'match.mp4'}", "progress=false", "detect.threshold=0.0",
                "detect.device=cpu", f"output_dir={out}", f"paths.report_dir={workspace / 'report' / 'header_experiments'}",
                *extra], workspace, module="src.detect")


def test_onnxruntime_and_bf16_detect_agree_with_torch_fp32(cli, workspace, tmp_path):
    results = {}
    for name, extra in {"torch": [], "onnxruntime": ["detect.engine=onnxruntime"], "bf16": ["detect.precision=bf16"]}.items():
        result = _detect(cli, workspace, tmp_path / name, *extra)
        assert result.returncode == 0, result.stderr[-3000:]
        folder = tmp_path / name / "match"
        summary = json.loads((folder / "summary.json").read_text())
        results[name] = (pd.read_csv(folder / "windows.csv"), pd.read_csv(folder / "events.csv"), summary)
    windows, events, summary = results["torch"]
    assert len(events) >= 2 and (summary["engine"], summary["precision"]) == ("torch", "fp32")
    onnx_windows, onnx_events, onnx_summary = results["onnxruntime"]
    assert onnx_summary["engine"] == "onnxruntime"
    pd.testing.assert_frame_equal(onnx_events, events)
    assert onnx_windows["start_frame"].tolist() == windows["start_frame"].tolist()
    np.testing.assert_allclose(onnx_windows["prob_header"], windows["prob_header"], atol=1e-4, rtol=0)
    bf16_windows, _, bf16_summary = results["bf16"]
    assert bf16_summary["precision"] == "bf16"
    difference = (bf16_windows["prob_header"] - windows["prob_header"]).abs()
    assert 0 < difference.max() <= 1e-2  # bf16 did run (the values moved), and stays within 1e-2


def _edited_export(workspace: Path, tmp_path: Path, **changes) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(workspace / "report" / "header_experiments" / "tiny" / "export", folder)
    export = json.loads((folder / "export.json").read_text())
    (folder / "export.json").write_text(json.dumps({**export, **changes}))
    return folder


def test_an_engine_that_cannot_run_is_one_error_line_and_writes_nothing(cli, workspace, tmp_path):
    onnx = "detect.engine=onnxruntime"
    damaged = _edited_export(workspace, tmp_path / "d")
    (damaged / "model.onnx").write_bytes(b"not an onnx model")
    cases = {
        "detect.precision=fp16: half precision runs on a CUDA device only": ["detect.precision=fp16"],
        "engine=onnxruntime runs the fp32 export": [onnx, "detect.precision=bf16"],
        "no export of this run; run python -m src.export run=": [onnx, f"detect.export_dir={tmp_path / 'none'}"],
        "an export of another run (checkpoint_sha256": [
            onnx, f"detect.export_dir={_edited_export(workspace, tmp_path / 'a', checkpoint_sha256='0' * 64)}"],
        "an export of a task=clip run": [onnx, f"detect.export_dir={_edited_export(workspace, tmp_path / 'b', task='clip')}"],
        "exported for num_frames=4": [onnx, f"detect.export_dir={_edited_export(workspace, tmp_path / 'c', num_frames=4)}"],
        "onnxruntime cannot load it": [onnx, f"detect.export_dir={damaged}"],
        "detect.engine='tensorrt': must be one of torch | onnxruntime": ["detect.engine=tensorrt"],
    }
    for needle, extra in cases.items():
        result = _detect(cli, workspace, tmp_path / "out", *extra)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), (needle, result.stderr)
        assert needle in lines[0], (needle, lines[0])
        if any(arg.startswith("detect.export_dir") for arg in extra):  # names the file and the remedy
            assert "export" in lines[0] and "python -m src.export run=" in lines[0] and "format=onnx" in lines[0]
    assert not (tmp_path / "out").exists()


def test_header_predict_with_onnxruntime_equals_torch(cli, workspace, tmp_path):
    clips = sorted((workspace / "data" / "synthetic" / "header" / "clips").glob("*.npy"))[:3]
    assert len(clips) == 3
    tables = {}
    for engine in ("torch", "onnxruntime"):
        result = cli(["run=tiny", f"inputs=[{','.join(map(str, clips))}]", f"output={tmp_path}/{engine}",
                      "progress=false", "device=cpu", f"engine={engine}",
                      f"paths.report_dir={workspace / 'report' / 'header_experiments'}"], tmp_path, module="src.predict")
        assert result.returncode == 0, result.stderr[-3000:]
        tables[engine] = pd.read_csv(tmp_path / engine / "predictions.csv")
    assert tables["torch"]["error"].isna().all() and len(tables["torch"]) == 3
    np.testing.assert_allclose(tables["onnxruntime"]["prob_header"], tables["torch"]["prob_header"], atol=1e-4, rtol=0)
