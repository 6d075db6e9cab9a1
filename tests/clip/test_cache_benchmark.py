"""benchmarks/cache.py (task=clip) at a tiny size: the uncached run, the cache build and the cached run are timed
from the runs themselves, and logits from pixels and from the cache agree."""
import json
import tempfile

import pytest

from benchmarks import cache


@pytest.mark.slow  # a benchmark's smoke run: make test-all
def test_clip_cache_benchmark_times_each_phase_and_compares_logits(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # the benchmark's work folder goes under tmp_path
    results = cache.main(["--backbones", "clip_tiny", "--epochs", "2", "--uncached-epochs", "1",
                          "--diff-clips", "2", "--override", "dataset.num_frames=2",
                          "--out", str(tmp_path / "results")])

    written = json.loads((tmp_path / "results" / "cache.json").read_text())
    assert written == json.loads(json.dumps(results))
    row = written["clip_tiny"]
    assert row["uncached_epoch_s"] > 0 and row["cache_build_s"] > 0 and row["later_cached_epoch_s"] > 0
    assert row["speedup_later"] == pytest.approx(row["uncached_epoch_s"] / row["later_cached_epoch_s"])
    assert row["first_cached_epoch_s"] > row["cache_build_s"]
    assert row["max_abs_logit_diff"] <= 1e-5

    # --uncached-epochs 1 and --epochs 2 reached the runs: one epoch without the cache, two with it.
    runs = next(tmp_path.glob("bench-cache-*")) / "models" / "video_coop" / "synthetic"
    epochs = {run.name: len(json.loads((run / "training_log.json").read_text()))
              for run in runs.iterdir() if (run / "training_log.json").is_file()}
    assert epochs == {"clip_tiny-off": 1, "clip_tiny-read": 2}
    # --override reached every run.
    assert {json.loads((run / "config.json").read_text())["dataset"]["num_frames"]
            for run in runs.iterdir() if (run / "config.json").is_file()} == {2}


def test_cache_benchmark_refuses_clip_overrides_for_header(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cache.main(["--task", "header", "--override", "dataset.num_frames=2"])
    assert exit_info.value.code == 2 and "--override: task=clip only" in capsys.readouterr().err
