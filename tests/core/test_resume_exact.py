"""Exact resume after a real kill -9: a run SIGKILLed mid-epoch (with a step checkpoint) or right after an epoch
end, then resumed with ckpt_path=<run dir>/last.ckpt, ends with the same files as the uninterrupted run (bitwise on
CPU). The kill comes from tests/core/kill_switch.py, loaded into the subprocess through a Hydra override."""
import csv
import json
import signal
from pathlib import Path

import pytest
import torch

from tests.core.resumed_runs import KILL, assert_same, clip_files, header_files, run_train, steps_per_epoch


def _train(root: Path, overrides: list[str], *, killed: bool = False) -> None:
    proc = run_train(root, overrides)
    if killed:
        assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]


def _csv_rows(path: Path) -> list[dict]:
    """Rows with their non-empty cells (new columns may be added when later stages log new metrics)."""
    with path.open(newline="") as file:
        return [{k: v for k, v in row.items() if v} for row in csv.DictReader(file)]


@pytest.mark.slow  # end to end, long: make test-all
def test_clip_resume_after_kill_mid_epoch_is_exact(tmp_path, synthetic_root, tiny_clip_run, cli):
    """The fast variant: 2 epochs, last.ckpt every optimizer step, SIGKILL in the middle of epoch 1."""
    base = ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            "trainer.max_epochs=2", "callbacks.last_every_n_steps=1", "~callbacks.early_stopping"]
    _train(tmp_path / "ref", [*base, "run_id=ref"])
    reference = tmp_path / "ref/models/video_coop/ucf101/ref"
    steps = steps_per_epoch(reference)
    assert steps >= 3, "the kill must fall inside an epoch"
    _train(tmp_path / "cut", base + [KILL, f"+callbacks.kill.at_step={steps + steps // 2 + 1}"], killed=True)
    run = next((tmp_path / "cut/models/video_coop/ucf101").iterdir())
    first_id = json.loads((run / "config.json").read_text())["run_id"]
    rows_before = _csv_rows(run / "logs/metrics.csv")
    assert [r["epoch"] for r in json.loads((run / "training_log.json").read_text())] == [0]
    _train(tmp_path / "cut", [*base, f"ckpt_path={run / 'last.ckpt'}"])
    assert_same(clip_files(reference), clip_files(run))
    config = json.loads((run / "config.json").read_text())
    assert config["run_id"] == first_id == run.name  # the same run, in the same folder
    rows_after = _csv_rows(run / "logs/metrics.csv")
    assert len(rows_after) > len(rows_before) > 0 and rows_after[:len(rows_before)] == rows_before  # appended
    assert [r["epoch"] for r in json.loads((run / "training_log.json").read_text())] == [0, 1]
    # Resuming the finished run: says so, exits 0, trains and writes nothing.
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    result = cli([*base, f"ckpt_path={run / 'last.ckpt'}"], tmp_path / "cut")
    assert result.returncode == 0 and "is a finished run" in result.stdout + result.stderr
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == stamps


CLIP_DEMO = ["experiment=demo", "trainer.max_epochs=4", "~callbacks.progress_bar", "~callbacks.early_stopping",
             "run_id=r"]
HEADER_DEMO = ["experiment=header_demo", "trainer.max_epochs=4", "~callbacks.progress_bar", "run_name=r"]
# Per epoch all headers and as many non-headers, a new draw each epoch: the resumed epoch must draw the same ones.
DEMOS = {"clip": CLIP_DEMO, "header": HEADER_DEMO,
         "header_neg_pos": [*HEADER_DEMO, "dataset.balanced_sampling=false", "dataset.neg_pos_ratio=1"]}
RUNS = {"clip": "models/video_coop/synthetic/r", "header": "report/header_experiments/r",
        "header_neg_pos": "report/header_experiments/r"}


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """`references(variant) -> (run folder, data override)`: the uninterrupted 4-epoch demo run, trained on first
    use (the data is shared with the killed runs)."""
    root, built = tmp_path_factory.mktemp("reference"), {}

    def reference(variant: str) -> tuple[Path, str]:
        if variant not in built:
            data = f"dataset.root={root}/ucf_synth" if variant == "clip" else f"dataset.root={root}/header_synth"
            _train(root / variant, [*DEMOS[variant], data])
            built[variant] = (root / variant / RUNS[variant], data)
        return built[variant]

    return reference


@pytest.mark.slow
@pytest.mark.parametrize("task, when", [("clip", "mid_epoch"), ("clip", "epoch_end"), ("header", "mid_epoch"),
                                        ("header", "epoch_end"), ("header_neg_pos", "mid_epoch")])
def test_demo_resume_after_kill_is_exact(references, tmp_path, task, when):
    reference, data = references(task)
    base = [*DEMOS[task], data]
    if when == "mid_epoch":  # step checkpoints every 2 optimizer steps, the kill 3 steps before epoch 1 ends
        steps = torch.load(reference / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] // 4
        base.append("callbacks.last_every_n_steps=2")
        kill = [KILL, f"+callbacks.kill.at_step={2 * steps - 3}"]
    else:
        kill = [KILL, "+callbacks.kill.at_epoch_start=2"]
    _train(tmp_path, base + kill, killed=True)
    run = tmp_path / RUNS[task]
    _train(tmp_path, [*base, f"ckpt_path={run / 'last.ckpt'}"])
    files = clip_files if task == "clip" else header_files
    assert_same(files(reference), files(run))
