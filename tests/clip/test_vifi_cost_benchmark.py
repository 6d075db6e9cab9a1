"""Smoke run of benchmarks/vifi_cost.py on the tiny CLIP (in this process: a spawned child per variant costs
~20 s of imports here): every variant measured, figures positive, ratios consistent with them, and vifi_clip trains far more parameters than video_coop."""
import json

import pytest

from benchmarks import vifi_cost


def test_vifi_cost_measures_every_variant_and_the_ratios(tmp_path):
    results = vifi_cost.main(["--backbone", "clip_tiny", "--frames", "2", "--batch", "2", "--classes", "3",
                              "--steps", "1", "--out-dir", str(tmp_path), "--same-process"])
    written = json.loads((tmp_path / "vifi_cost.json").read_text())
    assert written == json.loads(json.dumps(results))
    figures, ratios = written["variants"], written["ratio_to_video_coop"]
    assert set(figures) == set(vifi_cost.VARIANTS) and written["environment"]["cpu_threads"] == 1
    for label, f in figures.items():
        assert f["step_s"] > 0 and f["peak_rss_mb"] > 0   # RSS growth: meaningless in one shared process
        assert ratios[label]["step_time"] == pytest.approx(f["step_s"] / figures["video_coop"]["step_s"])
        assert ratios[label]["peak_memory"] == pytest.approx(f["peak_rss_mb"] / figures["video_coop"]["peak_rss_mb"])
    assert figures["vifi_clip"]["trainable_params"] > 5 * figures["video_coop"]["trainable_params"]
    assert figures["vifi_clip + grad_checkpointing"]["trainable_params"] == figures["vifi_clip"]["trainable_params"]
