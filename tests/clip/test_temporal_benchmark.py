"""benchmarks/temporal.py: a tiny budget end to end (2 methods, 1 epoch, a handful of videos) and its figures."""
import json

import pytest

from benchmarks import temporal, temporal_scores
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
    assert temporal_scores.pair_accuracy(results, ("MovingLeft", "MovingRight")) == pytest.approx(5 / 8)
    assert temporal_scores.pair_accuracy(results, ("Growing", "Shrinking")) == pytest.approx(4 / 10)
    assert temporal_scores.cross_pair_errors(results) == pytest.approx(1 / 18)   # only growing -> "moving right"


@pytest.mark.slow  # end to end, long: make test-all
def test_tiny_run_writes_one_row_per_method(tmp_path):
    """Two runs side by side (--jobs 2, spawned processes: what `make bench` runs), then vita again alone: a
    run's figures do not depend on where it ran."""
    overrides = [item for o in TINY for item in ("--override", o.format(root=tmp_path))]
    results = temporal.main(["--methods", "video_coop_mean", "vita", "--seeds", "0", "--jobs", "2", *overrides,
                             "--out-dir", str(tmp_path)])
    alone = temporal.main(["--methods", "vita", "--seeds", "0", *overrides, "--out-dir", str(tmp_path / "alone")])
    same = ["left/right", "growing/shrinking", "overall", "per_class_accuracy", "train_loss_per_epoch"]
    assert {k: alone["runs"][0][k] for k in same} == {k: results["runs"][1][k] for k in same}
    assert (results["settings"]["jobs"], alone["settings"]["jobs"]) == (2, 1)

    written = json.loads((tmp_path / "temporal.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert (written["settings"]["epochs"], written["settings"]["frames"], written["settings"]["videos"]) == (1, 4, 24)

    # The data the rows trained on: only the motion classes, in MOTION_PAIRS order, every generated clip listed.
    lists = tmp_path / "data" / "synthetic" / "temporal_lists"
    assert (lists / "classes.txt").read_text().split() == [c for pair in MOTION_PAIRS for c in pair]
    labels = [int(line.split()[1]) for line in (lists / "motion.txt").read_text().splitlines()]
    assert sorted(set(labels)) == [0, 1, 2, 3] and len(labels) == 24

    assert written["settings"]["seeds"] == [0]
    rows = written["runs"]
    assert [(r["method"], r["seed"], r["method_name"], r["pooling"]) for r in rows] == [
        ("video_coop_mean", 0, "video_coop", "mean"), ("vita", 0, "vita", "mean")]
    # One seed: the summary rows are the runs' own figures with zero spread.
    for run, summary in zip(rows, written["rows"]):
        assert summary["left/right"] == run["left/right"] and summary["left/right_std"] == 0.0
        assert summary["pair_mean"] == pytest.approx((run["left/right"] + run["growing/shrinking"]) / 2)
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
    # 8 held-out videos: a standard error of up to ~0.25 per accuracy; "beats" needs > 2 standard errors of the
    # difference, computed from the written figures themselves.
    base, vita = rows
    error = sum(r["overall"] * (1 - r["overall"]) / r["held_out_videos"] for r in rows) ** 0.5
    assert written["beats_baseline"]["vita"] is (vita["overall"] - base["overall"] > 2 * max(error, 1e-6))


def test_summarise_gives_mean_and_spread_over_seeds():
    def run(method, seed, left_right, grow_shrink):
        return {"method": method, "seed": seed, "method_name": method, "pooling": "mean", "left/right": left_right,
                "growing/shrinking": grow_shrink, "overall": (left_right + grow_shrink) / 2,
                "cross_pair_errors": 0.0, "train_seconds": 2.0, "held_out_videos": 96}

    runs = [run("a", 0, 0.5, 1.0), run("b", 0, 0.9, 0.9), run("a", 1, 0.7, 1.0), run("a", 2, 0.9, 1.0)]
    a, b = temporal_scores.summarise(runs)
    assert (a["method"], a["seeds"], a["held_out_videos"]) == ("a", [0, 1, 2], 288)
    assert a["left/right"] == pytest.approx(0.7) and a["growing/shrinking"] == pytest.approx(1.0)
    assert a["left/right_std"] == pytest.approx((0.08 / 3) ** 0.5)          # population std of 0.5, 0.7, 0.9
    assert a["pair_mean"] == pytest.approx(0.85) and a["growing/shrinking_std"] == 0.0
    assert (b["seeds"], b["pair_mean"], b["pair_mean_std"]) == ([0], pytest.approx(0.9), 0.0)


def test_beats_baseline_needs_more_than_the_noise():
    rows = [{"method": "video_coop_mean", "overall": 0.43, "held_out_videos": 96},
            {"method": "vita", "overall": 0.45, "held_out_videos": 96},          # 0.3 standard errors above
            {"method": "video_coop_attention", "overall": 0.90, "held_out_videos": 96}]   # ~8 above
    assert temporal_scores.beats_baseline(rows) == {"vita": False, "video_coop_attention": True}
    assert temporal_scores.beats_baseline(rows[1:]) == {}   # no baseline row, nothing to compare with
