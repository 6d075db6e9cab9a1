"""`python -m src.predict engine=onnxruntime` on a trained clip_tiny run (its ONNX export: video -> class logits,
the text features stored) gives PyTorch's predictions within 1e-4; an engine that cannot run is one error line."""
import shutil

import pandas as pd
import pytest

from tests.onnx_export import export_clip_run


@pytest.fixture
def run_and_videos(cli, tiny_clip_run, synthetic_root, tmp_path):
    result = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                  "trainer.max_epochs=1", "run_id=r"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "models" / "video_coop" / "ucf101" / "r"
    export_clip_run(run_dir)
    videos = tmp_path / "videos"
    videos.mkdir()
    for video in sorted(p for p in synthetic_root.rglob("*") if p.suffix in (".avi", ".mp4"))[:4]:
        shutil.copy(video, videos / video.name)
    return run_dir, videos


def test_onnxruntime_predictions_equal_torch_and_bad_engines_are_refused(cli, run_and_videos, tmp_path):
    run_dir, videos = run_and_videos
    common = [f"run={run_dir}", f"inputs={videos}", "progress=false", "top_k=3", "batch_size=2", "device=cpu"]
    tables = {}
    for engine in ("torch", "onnxruntime"):
        result = cli([*common, f"engine={engine}", f"output={tmp_path}/{engine}"], tmp_path, module="src.predict")
        assert result.returncode == 0, result.stderr[-3000:]
        tables[engine] = pd.read_csv(tmp_path / engine / "predictions.csv")
    torch_table, onnx_table = tables["torch"], tables["onnxruntime"]
    assert len(torch_table) == 4 * 3 and torch_table["error"].isna().all()
    pd.testing.assert_frame_equal(onnx_table[["path", "rank", "class"]], torch_table[["path", "rank", "class"]])
    assert (onnx_table["prob"] - torch_table["prob"]).abs().max() <= 1e-4

    cases = {
        "precision=fp16: half precision runs on a CUDA device only": [*common, "precision=fp16"],
        "no export of this run; run python -m src.export run=": [*common, "engine=onnxruntime",
                                                                  f"export_dir={tmp_path}/none"],
        "engine=onnxruntime runs the export of a trained run: give run=": [
            "method=zero_shot", "backbone=clip_tiny", "classes=[run,jump]", f"inputs={videos}", "engine=onnxruntime"],
    }
    for needle, args in cases.items():
        result = cli([*args, f"output={tmp_path}/out"], tmp_path, module="src.predict")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and needle in lines[0], (needle, result.stderr)
    assert not (tmp_path / "out").exists()
