"""Smoke run of benchmarks/scale.py at a tiny size: it generates its videos once, builds the frame store, measures
every row, and writes scale.json with positive rates, ratios consistent with them and the store's disk figures."""
import json

import pytest
import torch

from benchmarks import scale


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """The benchmark pins torch to one thread; give later tests the thread count back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_scale_benchmark_writes_every_row_and_the_store_figures(tmp_path):
    args = ["--work-dir", str(tmp_path / "work"), "--videos", "4", "--seconds", "2", "--rounds", "1",
            "--workers", "1", "--out-dir", str(tmp_path)]
    results = scale.main(args)
    written = json.loads((tmp_path / "scale.json").read_text())
    assert written == json.loads(json.dumps(results))
    rates = written["clips_per_s"]
    assert len(rates) == 4 and all(rate > 0 for rate in rates.values())
    raw = rates["raw PyAV decode of the same frames (1 process)"]
    today = rates["video path (today: full-frame RGB, transform resizes)"]
    for name, rate in rates.items():
        assert written["ratio_to_raw_decode"][name] == pytest.approx(rate / raw)
        assert written["ratio_to_video_path"][name] == pytest.approx(rate / today)
    store = written["frame_store"]
    assert store["build_stats"]["written"] == 4 and store["bytes"] > 0
    assert store["mb_per_hour_of_video"] == pytest.approx(store["bytes"] / 1e6 / (4 * 2 / 3600))
    assert written["dataset"]["sizes"] == ["340x256", "640x360"] and written["dataset"]["frames_per_clip"] == 8
    gaps = written["pixel_gaps_at_224"]
    assert 0 < gaps["frame store"]["mean_abs_diff"] < 10 and 0 < gaps["decode_resize"]["mean_abs_diff"] < 10
    videos = sorted((tmp_path / "work" / "videos").rglob("*.mp4"))
    stamps = [v.stat().st_mtime_ns for v in videos]
    scale.make_dataset(tmp_path / "work" / "videos", 4, 2)                    # generated once: kept
    assert [v.stat().st_mtime_ns for v in videos] == stamps and len(videos) == 4
