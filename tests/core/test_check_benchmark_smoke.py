"""benchmarks/check_dataset.py at a tiny size: every decode mode and worker count gets a positive rate, and the
UCF-101 estimate follows from it."""
import json

import pytest

from benchmarks import check_dataset
from src.clip.data.probe import DECODE_MODES


def test_check_benchmark_rates_every_mode(tmp_path):
    results = check_dataset.main(["--root", str(tmp_path / "set"), "--groups", "2", "--frames", "4", "--width", "32",
                                  "--height", "32", "--workers", "0", "--rounds", "1", "--out-dir", str(tmp_path)])
    assert json.loads((tmp_path / "check_dataset.json").read_text()) == results
    assert results["settings"]["videos"] == 14
    assert [row["decode"] for row in results["rows"]] == list(DECODE_MODES)
    for row in results["rows"]:
        assert row["videos_per_s"] > 0
        assert row["ucf101_minutes"] == pytest.approx(13_320 / row["videos_per_s"] / 60)
        assert row["cpu_ms_per_video"] > 0                                        # workers=0: all work in this process
