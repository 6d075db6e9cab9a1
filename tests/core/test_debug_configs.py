"""conf/debug/: `debug=fast` runs either task end to end in seconds, `debug=overfit` drives the training loss down
on a few batches, `debug=profile` writes Lightning's simple-profiler report into the run folder."""
from pathlib import Path

import pandas as pd
import pytest

QUIET = ["dataset.num_workers=0", "~callbacks.progress_bar"]


def run_folder(out: Path) -> Path:
    """The run's folder under `out`: the one that holds run.json."""
    (manifest,) = [p for p in out.rglob("run.json") if "data" not in p.relative_to(out).parts]
    return manifest.parent


def train_losses(run: Path) -> pd.Series:
    """The mean training loss per epoch, from the run's CSV log."""
    metrics = pd.read_csv(run / "logs" / "metrics.csv")
    rows = metrics.dropna(subset=["train/loss"])
    return rows.groupby("epoch")["train/loss"].mean()


@pytest.mark.parametrize("experiment", ["demo", "header_demo"])
def test_fast_runs_one_batch_of_each_split(cli, tmp_path, experiment):
    proc = cli([f"experiment={experiment}", "debug=fast", *QUIET], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = run_folder(tmp_path)
    metrics = pd.read_csv(run / "logs" / "metrics.csv")
    assert metrics["step"].max() <= 1 and set(metrics["epoch"].dropna()) <= {0, 1}  # one training step, one epoch
    assert "val/loss" in metrics and metrics["val/loss"].notna().sum() == 1


def test_overfit_drives_the_training_loss_down(cli, tmp_path):
    proc = cli(["experiment=demo", "debug=overfit", "trainer.max_epochs=12", *QUIET], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    losses = train_losses(run_folder(tmp_path))
    assert len(losses) == 12
    assert losses.iloc[-1] < 0.5 * losses.iloc[0], losses.to_dict()


def test_profile_writes_its_report_in_the_run_folder(cli, tmp_path):
    proc = cli(["experiment=demo", "debug=profile", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                *QUIET], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (run_folder(tmp_path) / "fit-profile.txt").read_text()
    assert "run_training_epoch" in report and "training_step" in report


def test_lightnings_fast_dev_run_needs_no_plus_and_skips_the_best_checkpoint_test(cli, tmp_path):
    proc = cli(["experiment=demo", "trainer.fast_dev_run=true", *QUIET], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test/acc" in proc.stdout  # the test after fit ran on the trained weights (fast_dev_run keeps no best)
