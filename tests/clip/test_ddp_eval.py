"""Evaluation under DDP is exact: 2 processes (ddp_spawn, gloo, CPU) on an odd number of validation videos report
the same video count, top-1, top-5 and confusion matrix as 1 process (no padding repeats are counted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _validate(root: Path, synthetic_root: Path, tiny: list[str], *extra: str) -> dict:
    cmd = [sys.executable, "-m", "src.train", f"paths.root_dir={root}", f"hydra.run.dir={root}/outputs",
           "method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny, "validate_only=true",
           "dataset.k_val=1", "dataset.batch_size=2", "run_id=eval", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "models/video_coop/ucf101/eval/validation_results.json").read_text())


@pytest.mark.slow  # end to end, long: make test-all
def test_two_process_evaluation_equals_one_process_on_an_odd_count(tmp_path, synthetic_root, tiny_clip_run):
    single = _validate(tmp_path / "one", synthetic_root, tiny_clip_run)
    double = _validate(tmp_path / "two", synthetic_root, tiny_clip_run, "trainer=ddp_cpu")
    videos = single["data"]["num_videos"]["val"]
    assert videos % 2 == 1  # 7 classes, one validation video each: one rank gets a video more than the other
    assert single["num_videos"] == double["num_videos"] == videos
    for key in ("top1", "top5", "confusion_matrix", "per_class_accuracy"):
        assert double[key] == single[key], key
    assert abs(double["loss"] - single["loss"]) < 1e-6  # a mean summed in another order
