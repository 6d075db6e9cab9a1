"""Bad clips are skipped and counted, never a crash: every damaged .npy of tests/damaged_npy.py (a lying or cut-off
header, cut-short data, not a .npy, pickled objects, a wrong shape or dtype), in the up-front check, at load time
(dataset.check_clips=false), in training, evaluation, prediction and the frozen-feature cache."""
import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from src.header.data.dataset import HeaderClipDataset, collate_skip_bad, read_header_csv
from tests.damaged_npy import DAMAGED_NPY
from tests.header.clip_sets import train_val_csvs, write_clip_set

NUM_DAMAGED = len(DAMAGED_NPY)


def _add_damaged(csv_path: Path) -> list[Path]:
    """Append one row per damaged file (written beside the CSV's clips) to `csv_path`; -> their paths, in order."""
    folder = csv_path.parent / "damaged"
    folder.mkdir()
    table, paths = pd.read_csv(csv_path), []
    for name, data in DAMAGED_NPY.items():
        paths.append(folder / f"{name}.npy")
        paths[-1].write_bytes(data)
    rows = pd.DataFrame({"path": [f"damaged/{p.name}" for p in paths], "label": [i % 2 for i in range(len(paths))]})
    pd.concat([table, rows], ignore_index=True).to_csv(csv_path, index=False)
    return [p.resolve() for p in paths]


def _logged(run_dir: Path, key: str) -> list[float]:
    with (run_dir / "logs/metrics.csv").open(newline="") as file:
        return [float(r[key]) for r in csv.DictReader(file) if r.get(key)]


def test_the_upfront_check_skips_and_counts_every_damaged_file(tmp_path):
    clips = write_clip_set(tmp_path, num_clips=4)
    damaged = _add_damaged(clips)
    table = read_header_csv(clips, name="dataset.val_csv", check_clips=True, max_bad_fraction=0.9)
    assert table.bad_clips == [str(p) for p in damaged]
    assert table.rows["row_idx"].tolist() == [0, 1, 2, 3] and table.rows["file"].str.endswith(".npy").all()


@pytest.mark.parametrize("name", list(DAMAGED_NPY))
def test_at_load_time_a_damaged_file_is_dropped_from_its_batch_and_counted(tmp_path, name):
    clips = write_clip_set(tmp_path, num_clips=3)
    _add_damaged(clips)
    rows = read_header_csv(clips, name="dataset.val_csv", check_clips=False, max_bad_fraction=0.0).rows  # nothing read: all rows kept
    rows = rows[rows["file"].str.endswith(("clip_000.npy", "clip_001.npy", f"{name}.npy"))]
    dataset = HeaderClipDataset(rows, num_frames=4, transform=lambda video: video.float(), seed=0)
    batch = collate_skip_bad([dataset[i] for i in range(len(dataset))])
    assert int(batch["num_bad"]) == 1 and batch["video"].shape == (2, 3, 4, 32, 32)
    assert batch["row_idx"].tolist() == [0, 1]


def test_training_evaluation_and_prediction_skip_and_count_damaged_clips(cli, tiny_header_run, tmp_path):
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=4)
    _add_damaged(train), _add_damaged(val)
    # vmae_tiny: LayerNorm only (a shuffled batch may keep a single good clip, which CSN's BatchNorm refuses)
    run = [*tiny_header_run, "backbone=vmae_tiny", "dataset.num_frames=4", "trainer.max_epochs=1",
           "dataset.check_clips=false", f"dataset.train_csv={train}", f"dataset.val_csv={val}", "run_name=damaged"]
    result = cli(run, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "report/header_experiments/damaged"
    assert _logged(run_dir, "train/bad_clips") == [NUM_DAMAGED] and _logged(run_dir, "val/bad_clips") == [NUM_DAMAGED]
    assert len(pd.read_csv(run_dir / "val_predictions.csv")) == 4

    for check in ("false", "true"):  # counted at load time, or by the up-front check
        result = cli(["task=header", "run=damaged", f"dataset.val_csv={val}", f"dataset.check_clips={check}",
                      "dataset.max_bad_fraction=0.9", "trainer=cpu"], tmp_path, module="src.evaluate")
        assert result.returncode == 0, result.stderr[-3000:]
        results = json.loads((run_dir / "eval/val-4f.json").read_text())
        assert (results["num_clips"], results["bad_clips"]) == (4, NUM_DAMAGED)

    result = cli(["run=damaged", f"inputs={val.parent}", f"output={tmp_path}/out", "progress=false"],
                 tmp_path, module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out/predictions.csv")
    failed = table[table["prob_header"].isna()]
    assert sorted(Path(p).stem for p in failed["path"]) == sorted(DAMAGED_NPY)
    assert failed["error"].str.len().gt(0).all() and not failed["error"].str.contains("\n").any()
    assert table["prob_header"].notna().sum() == 4


def test_the_frozen_feature_cache_skips_and_counts_damaged_clips(cli, tiny_header_run, tmp_path):
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=4)
    _add_damaged(train)
    run = [*tiny_header_run, "backbone=csn_tiny", "finetune=frozen", "trainer.max_epochs=1",
           "dataset.check_clips=false", f"dataset.train_csv={train}", f"dataset.val_csv={val}"]
    for mode in ("auto", "read"):  # filled (the damaged clips get no entry), then read back
        result = cli([*run, f"dataset.feature_cache={mode}", f"run_name={mode}"], tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        run_dir = tmp_path / f"report/header_experiments/{mode}"
        assert _logged(run_dir, "train/bad_clips") == [NUM_DAMAGED] and _logged(run_dir, "val/bad_clips") == [0]
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 12  # the 8 + 4 good clips
