"""Smoke runs of the task=clip benchmarks (benchmarks/overhead.py, benchmarks/scaling.py) at a tiny size: each
writes its JSON with positive timings, the expected rows, and summary figures consistent with the rows."""
import json
import statistics

import pytest
import torch

from benchmarks import overhead, scaling

TINY_DATA = ["--backbone", "clip_tiny", "--override", "dataset.batch_size=2", "--override", "dataset.num_frames=2"]


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """The benchmarks pin torch to one thread (steady timings); give later tests the thread count back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_overhead_writes_rates_and_their_ratio(tmp_path):
    results = overhead.main(["--steps", "3", "--warmup", "1", "--rounds", "2", "--classes", "3", *TINY_DATA,
                             "--out-dir", str(tmp_path)])
    written = json.loads((tmp_path / "overhead.json").read_text())
    assert written == results
    settings = written["settings"]
    assert (settings["classes"], settings["batch_size"], settings["frames"], settings["steps"]) == (3, 2, 2, 3)
    assert settings["backbone"] == "clip-tiny" and settings["gradient_clip_val"] == 1.0  # the demo's clipping
    assert settings["threads"] == 1 and settings["clock"] == "process_cpu_time"

    rounds = written["rounds"]
    assert [r["first"] for r in rounds] == ["lightning", "no log"]   # the order rotates
    for r in rounds:
        rates = [r[f"{v}_steps_per_s"] for v in ("lightning", "lightning_without_log", "bare")]
        assert all(rate > 0 for rate in rates), r
        assert r["ratio"] == pytest.approx(r["lightning_steps_per_s"] / r["bare_steps_per_s"])
        assert r["ratio_without_log"] == pytest.approx(r["lightning_without_log_steps_per_s"] / r["bare_steps_per_s"])
    assert written["ratio"] == pytest.approx(statistics.median(r["ratio"] for r in rounds))
    assert written["bare_steps_per_s"] == pytest.approx(statistics.median(r["bare_steps_per_s"] for r in rounds))
    assert written["meets_target"] == (written["ratio"] >= written["target_ratio"] == 0.95)


def test_scaling_writes_both_sweeps(tmp_path):
    results = scaling.main(["--classes", "4", "2", "--frames", "2", "4", "--fixed-frames", "2", "--fixed-classes", "4",
                            "--steps", "1", "--warmup", "1", "--rounds", "2", "--override", "dataset.batch_size=2",
                            "--out-dir", str(tmp_path)])
    written = json.loads((tmp_path / "scaling.json").read_text())
    assert written == results
    assert [(r["num_classes"], r["num_frames"]) for r in written["classes"]] == [(2, 2), (4, 2)]   # sorted
    assert [(r["num_classes"], r["num_frames"]) for r in written["frames"]] == [(4, 2), (4, 4)]
    for sweep in ("classes", "frames"):
        rows = written[sweep]
        assert rows[0]["relative"] == 1.0
        for row in rows:
            assert row["ms_per_step"] > 0 and row["text_ms"] > 0 and row["frames_ms"] > 0, row
            assert row["relative"] == pytest.approx(row["ms_per_step"] / rows[0]["ms_per_step"])
            assert row["ms_per_step"] == pytest.approx(statistics.median(row["rounds_ms"]))
            assert len(row["rounds_ms"]) == 2
            assert row["dominant"] in ("text", "frames", "other")
    # (C=4, T=2) is in both sweeps: measured once, reported twice (relative to each sweep's own first row).
    shared_in_classes, shared_in_frames = written["classes"][1], written["frames"][0]
    assert shared_in_classes.pop("relative") > 0 and shared_in_frames.pop("relative") == 1.0
    assert shared_in_classes == shared_in_frames
    assert written["settings"]["pooling"] == "attention" and written["settings"]["ctx_len"] == 8


def test_benchmarks_refuse_zero_steps(tmp_path):
    for main in (overhead.main, scaling.main):
        with pytest.raises(SystemExit):
            main(["--steps", "0", "--out-dir", str(tmp_path)])
    assert not list(tmp_path.iterdir())
