"""benchmarks/header_loader.py at a tiny size: every row timed, ratios consistent with the rates, JSON written."""
import json

import pytest
import torch

from benchmarks import header_loader

ROWS = {"naive", "loader", "device_loader_part", "device_with_batch_augment_here"}


def test_header_loader_benchmark_times_every_setting(tmp_path):
    threads = torch.get_num_threads()
    try:
        results = header_loader.main(["--clips", "3", "--frames", "4", "--size", "24", "--num-frames", "2",
                                      "--input-size", "16", "--batch", "2", "--rounds", "1",
                                      "--out-dir", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)  # the benchmark pins one thread, as in a loader worker
    written = json.loads((tmp_path / "header_loader.json").read_text())
    assert written["ratio"] == results["ratio"] and set(written["clips_per_s"]) == ROWS
    for name in ROWS:
        assert written["clips_per_s"][name] > 0 and len(written["rounds"][name]) == 1
        assert written["ratio"][name] == pytest.approx(written["clips_per_s"][name] / written["clips_per_s"]["naive"])
    assert written["ratio"]["naive"] == 1.0
