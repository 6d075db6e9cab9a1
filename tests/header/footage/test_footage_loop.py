"""Acceptance (slow: renders footage, trains csn_tiny for 15 epochs): the whole loop from match footage —
make_header_clips with ball tracks on two matches, split, train, `src.detect` with tracks on a third match — finds
the headers with event F1 >= 0.8 at ±0.5 s. benchmarks/header_footage.py runs the same loop, and the whole-frame one
beside it, for the README's table."""
import pytest

from benchmarks.header_footage import render_footage, run_loop


@pytest.mark.slow
def test_the_footage_loop_with_ball_crops_finds_headers_on_an_unseen_match(tmp_path):
    footage = render_footage(tmp_path, half_seconds=90, test_seconds=120)
    assert footage["headers"] >= 10
    result = run_loop(tmp_path, footage, "crops", epochs=15)
    assert result["f1"] >= 0.8, result
