"""Acceptance: the header demo model, trained on synthetic clips, finds the headers of a 2-minute synthetic match
video with event-level F1 >= 0.8 at ±0.5 s (slow: it trains a model on 400 clips). The fast variant of the same
path (train, detect, metrics.json) is tests/header/test_detect.py."""
import json

import pytest

from src.synthetic.match_video import render_match_video

TRAIN = ["experiment=header_demo", "dataset.synthetic.num_clips=400", "trainer.max_epochs=15",
         "~callbacks.progress_bar", "run_name=demo400"]


@pytest.mark.slow
def test_trained_demo_model_detects_headers_with_f1_at_least_0_8(cli, tmp_path):
    trained = cli(TRAIN, tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    video = render_match_video(tmp_path / "match.mp4", seed=0, duration_s=120, fps=10)
    assert len(video.event_frames) >= 10
    result = cli(["run=demo400", f"video={video.path}", f"events_csv={video.events_csv}", "progress=false",
                  "detect.threshold=0.5", "detect.tolerance_s=0.5"], tmp_path, module="src.detect")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "detections" / "match" / "metrics.json").read_text())
    assert metrics["num_true_events"] == len(video.event_frames)
    assert metrics["f1"] >= 0.8, metrics
