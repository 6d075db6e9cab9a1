"""Smoke run of benchmarks/detect.py at a tiny size: both videos scored in child processes, the JSON written,
every window of each video counted, and the RSS ratio consistent with the rows."""
import json

import pytest

from benchmarks import detect


@pytest.mark.slow  # end to end, long: make test-all
def test_detect_benchmark_writes_rates_and_the_rss_ratio(tmp_path):
    results = detect.main(["--minutes", "0.1", "0.2", "--fps", "10", "--size", "32", "--input-size", "32",
                           "--stride", "8", "--work-dir", str(tmp_path / "videos"), "--out-dir", str(tmp_path)])
    assert json.loads((tmp_path / "detect.json").read_text()) == results
    short, long = results["videos"]
    assert (short["frames"], long["frames"]) == (64, 128)  # 0.1 / 0.2 min at 10 fps, whole 16-frame shots
    assert short["windows"] == (64 - 8) // 8 + 1 and long["windows"] == (128 - 8) // 8 + 1
    assert short["windows_per_s"] > 0 and long["peak_rss_mb"] > 0
    assert results["rss_ratio"] == pytest.approx(long["peak_rss_mb"] / short["peak_rss_mb"])
