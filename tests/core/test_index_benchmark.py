"""benchmarks/index.py at a tiny size: it makes the synthetic Kinetics-400 download once, times a scan against a
load of the kept index in fresh processes, and writes figures consistent with what it made."""
import json

import pytest

from benchmarks import index as index_benchmark


@pytest.mark.slow  # three fresh processes (30-40 s here): make test-all
def test_index_benchmark_writes_consistent_figures(tmp_path):
    work = tmp_path / "k400"
    results = index_benchmark.main(["--rows", "1200", "--rounds", "1", "--work-dir", str(work),
                                    "--out-dir", str(tmp_path / "out")])
    assert json.loads((tmp_path / "out" / "index.json").read_text()) == results
    on_disk = sorted(p.name for p in work.rglob("*.mp4"))
    missing = 1200 - len(on_disk)                                  # every 33rd clip of each split is not there
    assert missing == len(range(0, 1100, 33)) + len(range(0, 100, 33))
    [round_] = results["rounds"]
    for kind in ("scan", "load"):
        figures = round_[kind]
        assert (figures["train"] + figures["val"], figures["missing"]) == (len(on_disk), missing)
        assert figures["seconds"] > 0 and figures["peak_rss_mb"] >= figures["index_rss_mb"] >= 0
    assert results["speedup"] == round_["scan"]["seconds"] / round_["load"]["seconds"]
    # k_train=16 (conf/dataset/kinetics400.yaml) keeps every train clip here: no class has more than 3
    assert round_["load"]["datamodule_videos"]["train"] == round_["load"]["train"]
    assert results["meets_goal"] == (results["load_seconds"] <= 2.0 and results["speedup"] >= 20.0)
