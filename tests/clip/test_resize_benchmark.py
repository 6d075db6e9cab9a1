"""benchmarks/resize_videos.py at a tiny size: the large videos are re-encoded, the small ones copied, and the rates
and size ratios in the JSON are the ones the trees on disk give."""
import json

import pytest

from benchmarks import resize_videos


def test_resize_benchmark_rows_match_the_trees_it_wrote(tmp_path):
    results = resize_videos.main(["--videos", "4", "--seconds", "0.4", "--sizes", "96x54", "48x36", "--short-sides",
                                  "36", "--work-dir", str(tmp_path / "work"), "--out-dir", str(tmp_path / "out")])
    assert json.loads((tmp_path / "out" / "resize_videos.json").read_text()) == json.loads(json.dumps(results))
    (row,) = results["rows"]
    assert (row["short_side"], row["preset"], row["reencoded"], row["copied"]) == (36, "veryfast", 2, 2)
    assert row["videos_per_s_per_worker"] == pytest.approx(4 / row["cpu_s"], rel=0.01)
    src, dst = tmp_path / "work" / "src", tmp_path / "work" / "dst_36_veryfast"
    sizes = [(p.stat().st_size, (dst / p.relative_to(src)).stat().st_size) for p in sorted(src.rglob("*.mp4"))]
    assert row["size_ratio_all"] == pytest.approx(sum(b for _, b in sizes) / sum(a for a, _ in sizes), abs=1e-4)
    assert 0 < row["size_ratio_reencoded"] < 1 and row["frames_per_s"] > 0
