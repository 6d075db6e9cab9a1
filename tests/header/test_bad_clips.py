"""dataset.check_clips=false: an unreadable .npy is skipped at load time and counted (train/bad_clips in the
metrics log), not a crash."""
import csv

from tests.header.clip_sets import train_val_csvs


def test_unreadable_clip_without_the_upfront_check_is_skipped_and_counted(tmp_path, cli, tiny_header_run):
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=4, size=16, frames=8)
    with train.open(newline="") as file:
        first = next(csv.DictReader(file))["path"]
    (train.parent / first).write_bytes(b"\x93NUMPY truncated")  # still named .npy, no longer readable
    result = cli([*tiny_header_run, "backbone=csn_tiny", "trainer.max_epochs=1", "dataset.check_clips=false",
                  f"dataset.train_csv={train}", f"dataset.val_csv={val}", "dataset.input_size=16", "run_name=skip"],
                 tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with (tmp_path / "report/header_experiments/skip/logs/metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [float(r["train/bad_clips"]) for r in rows if r.get("train/bad_clips")] == [1.0]
    assert [float(r["val/bad_clips"]) for r in rows if r.get("val/bad_clips")] == [0.0]
