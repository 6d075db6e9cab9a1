"""data_tools/split_dataset.py: group-aware stratified split, path fixing, determinism, clear errors."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_tools.split_dataset import main
from src.header.data.split import split_rows

# 14 match halves of uneven size and header count: a random row split would leak, a careless group split
# would be badly unbalanced.
GROUP_SIZES = [9, 3, 7, 5, 4, 6, 2, 8, 3, 5, 6, 4, 7, 3]
GROUP_HEADERS = [3, 0, 2, 1, 1, 2, 1, 2, 0, 2, 1, 1, 2, 1]


def _table() -> pd.DataFrame:
    rows = []
    for g, (size, headers) in enumerate(zip(GROUP_SIZES, GROUP_HEADERS)):
        for k in range(size):
            rows.append({"path": f"/scratch/other_machine/dataset_generation/m{g:02d}_clip{k}",
                         "label": int(k < headers), "video_id": f"match_{g // 2:02d}", "half": 1 + g % 2,
                         "frame": 1000 * k, "group": f"m{g:02d}"})
    return pd.DataFrame(rows)


@pytest.fixture
def clip_root(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Input CSV written on "another machine" (absolute base names, the original's `<base>_s.npy` files) and the
    folder where the clips really are on this one; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data" / "clips"
    root.mkdir(parents=True)
    table = _table()
    for raw in table["path"]:
        np.save(root / f"{Path(raw).name}_s.npy", np.zeros((2, 4, 4, 3), np.uint8))
    csv = tmp_path / "all.csv"
    table.to_csv(csv, index=False)
    return csv, root


def _run(csv: Path, out: Path, root: Path | None, *extra: str) -> int:
    args = ["--input_csv", str(csv), "--output_dir", str(out), *extra]
    return main([*args, "--root_dir", str(root)] if root else args)


def test_split_is_group_aware_stratified_and_paths_fixed(clip_root, tmp_path, capsys):
    csv, root = clip_root
    assert _run(csv, tmp_path / "out", root, "--val_split", "0.25", "--seed", "3") == 0
    train, val = pd.read_csv(tmp_path / "out" / "train.csv"), pd.read_csv(tmp_path / "out" / "val.csv")
    source = _table()
    assert len(train) + len(val) == len(source)
    assert not set(train["group"]) & set(val["group"]), "a group landed in both files"
    ratio = source["label"].mean()
    for part in (train, val):  # header count within one clip of the input's share
        assert abs(part["label"].sum() - ratio * len(part)) <= 1.0, (part["label"].sum(), ratio * len(part))
    assert abs(len(val) - 0.25 * len(source)) <= max(GROUP_SIZES)
    for path in pd.concat([train, val])["path"]:  # relative to the cwd, and the file is there
        assert not Path(path).is_absolute() and path.startswith("data/clips/") and path.endswith("_s.npy")
        assert Path(path).is_file()
    out = capsys.readouterr().out
    assert "train.csv" in out and f"{len(val)} clips" in out and "header (" in out


def test_same_seed_same_files_other_seed_other_split(clip_root, tmp_path):
    csv, root = clip_root
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        assert _run(csv, tmp_path / name, root, "--seed", seed) == 0
    read = lambda name: (tmp_path / name / "val.csv").read_bytes()  # noqa: E731
    assert read("a") == read("b")
    assert (tmp_path / "a" / "train.csv").read_bytes() == (tmp_path / "b" / "train.csv").read_bytes()
    assert read("a") != read("c")


def test_default_group_column_is_group_then_video_id():
    table = _table()
    train, val = split_rows(table, val_split=0.3, seed=0, group_col=None)
    assert not set(train["group"]) & set(val["group"])
    by_video = table.drop(columns=["group"])
    train, val = split_rows(by_video, val_split=0.3, seed=0, group_col=None)
    assert not set(train["video_id"]) & set(val["video_id"])  # whole matches, both halves together


@pytest.mark.parametrize("val_split", ["0", "1", "1.5", "-0.2"])
def test_val_split_outside_unit_interval_is_a_clear_error(clip_root, tmp_path, capsys, val_split):
    csv, root = clip_root
    assert _run(csv, tmp_path / "out", root, "--val_split", val_split) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --val_split") and "between 0 and 1" in err[0]
    assert not (tmp_path / "out").exists()


def test_missing_clips_are_listed_and_exit_2_unless_allowed(clip_root, tmp_path, capsys):
    csv, root = clip_root
    (root / "m03_clip1_s.npy").unlink()
    assert _run(csv, tmp_path / "out", root) == 2
    err = capsys.readouterr().err
    assert "m03_clip1" in err and "1 clip(s)" in err and err.strip().splitlines()[-1].startswith("error:")
    assert not (tmp_path / "out" / "train.csv").exists()
    assert _run(csv, tmp_path / "out", root, "--allow_missing") == 0
    rows = pd.concat([pd.read_csv(tmp_path / "out" / f) for f in ("train.csv", "val.csv")])
    assert len(rows) == len(_table()) - 1 and not rows["path"].str.contains("m03_clip1_").any()


def test_without_root_dir_paths_resolve_from_the_csv_folder(tmp_path, monkeypatch):
    data = tmp_path / "set"
    (data / "clips").mkdir(parents=True)
    rows = []
    for i in range(12):
        np.save(data / "clips" / f"c{i}.npy", np.zeros((2, 4, 4, 3), np.uint8))
        rows.append({"path": f"clips/c{i}.npy", "label": int(i % 3 == 0), "video_id": f"v{i % 6}"})
    pd.DataFrame(rows).to_csv(data / "all.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["--input_csv", str(data / "all.csv"), "--output_dir", "splits", "--val_split", "0.3"]) == 0
    for f in ("train.csv", "val.csv"):
        paths = pd.read_csv(tmp_path / "splits" / f)["path"]
        assert all(p.startswith("set/clips/") and Path(p).is_file() for p in paths)
