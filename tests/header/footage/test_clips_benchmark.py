"""Smoke run of benchmarks/make_header_clips.py at a tiny size: both ways build the same clips in child processes,
the JSON holds the rates, their ratio and ours' peak RSS on both videos (slow: it renders two videos and starts four
processes)."""
import json

import numpy as np
import pytest

from benchmarks import make_header_clips


@pytest.mark.slow
def test_clips_benchmark_builds_the_same_clips_both_ways_and_writes_the_ratio(tmp_path):
    results = make_header_clips.main(["--minutes", "0.2", "0.3", "--width", "320", "--height", "180", "--size", "32",
                                      "--work-dir", str(tmp_path / "work"), "--out-dir", str(tmp_path)])
    assert json.loads((tmp_path / "make_header_clips.json").read_text()) == results
    for video in results["videos"]:
        assert video["ours"]["clips"] == video["naive"]["clips"] > 0
        assert video["ratio"] == pytest.approx(video["ours"]["clips_per_s"] / video["naive"]["clips_per_s"])
        assert video["ours"]["peak_rss_mb"] > 0
    runs = tmp_path / "work" / "runs_0.3min"
    for path in (runs / "ours" / "clips").iterdir():  # the naive way wrote identical clips
        np.testing.assert_array_equal(np.load(runs / "naive" / path.name), np.load(path))
    assert results["rss_ratio"] == pytest.approx(results["videos"][1]["ours"]["peak_rss_mb"]
                                                 / results["videos"][0]["ours"]["peak_rss_mb"])
