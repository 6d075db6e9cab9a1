"""benchmarks/temporal.py: a tiny budget end to end (2 methods, 1 epoch, a handful of videos) and its figures."""
import json

import pytest

from benchmarks import temporal
from src.synthetic.datasets import MOTION_PAIRS

MOTION_PROMPTS = ["moving left", "moving right", "growing", "shrinking"]
TINY = ["paths.root_dir={root}", "trainer.max_epochs=1", "dataset.synthetic.groups=3", "dataset.synthetic.clips_per_group=2",
        "dataset.synthetic.num_frames=8", "dataset.synthetic.width=32", "dataset.synthetic.height=32",
        "dataset.num_frames=4", "dataset.batch_size=4", "dataset.num_workers=0", "logger=csv"]


def test_pair_accuracy_counts_only_the_pairs_own_rows():
    names = ["moving left", "moving right", "growing", "shrinking"]
    matrix = [[3, 1, 0, 0],      # left: 3 right, 1 called "right"
              [2, 2, 0, 0],      # right: 2 of 4
              [0, 1, 4, 0],      # growing: 4 of 5 (one called "moving right": a cross-pair error)
              [0, 0, 5, 0]]      # shrinking: 0 of 5
    results = {"class_names": names, "confusion_matrix": matrix}
    assert temporal.pair_accuracy(results, ("MovingLeft", "MovingRight")) == pytest.approx(5 / 8)
    assert temporal.pair_accuracy(results, ("Growing", "Shrinking")) == pytest.approx(4 / 10)
    assert temporal.cross_pair_errors(results) == pytest.approx(1 / 18)   # only growing -> "moving right"


def test_tiny_run_writes_one_row_per_method(tmp_path):
    overrides = [item for o in TINY for item in ("--override", o.format(root=tmp_path))]
    results = temporal.main(["--methods", "video_coop_mean", "vita", *overrides, "--out-dir", str(tmp_path)])

    written = json.loads((tmp_path / "temporal.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert (written["settings"]["epochs"], written["settings"]["frames"], written["settings"]["videos"]) == (1, 4, 24)

    # The data the rows trained on: only the motion classes, in MOTION_PAIRS order, every generated clip listed.
    lists = tmp_path / "data" / "synthetic" / "temporal_lists"
    assert (lists / "classes.txt").read_text().split() == [c for pair in MOTION_PAIRS for c in pair]
    labels = [int(line.split()[1]) for line in (lists / "motion.txt").read_text().splitlines()]
    assert sorted(set(labels)) == [0, 1, 2, 3] and len(labels) == 24

    rows = written["rows"]
    assert [(r["method"], r["method_name"], r["pooling"]) for r in rows] == [
        ("video_coop_mean", "video_coop", "mean"), ("vita", "vita", "mean")]
    for row in rows:
        assert sorted(row["per_class_accuracy"]) == sorted(MOTION_PROMPTS)
        assert row["epochs"] == 1 and len(row["train_loss_per_epoch"]) == 1 and row["train_seconds"] > 0
        # 3 groups per class: round(0.4 · 3) = 1 held out -> 2 clips per class, 8 held-out videos.
        assert row["held_out_videos"] == 8
        for key in ("left/right", "growing/shrinking", "overall"):
            assert 0.0 <= row[key] <= 1.0
        # Balanced hold-out: overall accuracy is the mean of the two pairs' accuracies.
        assert row["overall"] == pytest.approx((row["left/right"] + row["growing/shrinking"]) / 2)
        pairs = {p: [row["per_class_accuracy"][n] for n in names] for p, names in
                 (("left/right", MOTION_PROMPTS[:2]), ("growing/shrinking", MOTION_PROMPTS[2:]))}
        for pair, accs in pairs.items():
            assert row[pair] == pytest.approx(sum(accs) / 2)
        assert 0.0 <= row["cross_pair_errors"] <= 1.0 - row["overall"]
    assert list(written["beats_baseline"]) == ["vita"]
    # 8 held-out videos: a standard error of ~0.25 per accuracy; beating the baseline needs > 2 of them.
    if rows[1]["overall"] - rows[0]["overall"] < 0.25:
        assert written["beats_baseline"]["vita"] is False


def test_beats_baseline_needs_more_than_the_noise():
    rows = [{"method": "video_coop_mean", "overall": 0.43, "held_out_videos": 96},
            {"method": "vita", "overall": 0.45, "held_out_videos": 96},          # 0.3 standard errors above
            {"method": "video_coop_attention", "overall": 0.90, "held_out_videos": 96}]   # ~8 above
    assert temporal._beats_baseline(rows) == {"vita": False, "video_coop_attention": True}
    assert temporal._beats_baseline(rows[1:]) == {}   # no baseline row, nothing to compare with
