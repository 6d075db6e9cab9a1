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


def _clip_folder(folder: Path, rows: list[tuple[str, int, str]], **extra) -> Path:
    """folder/clips.csv over folder/clips/<name>.npy, paths relative to the folder; rows: (name, label, group)."""
    (folder / "clips").mkdir(parents=True)
    for name, _, _ in rows:
        np.save(folder / "clips" / f"{name}.npy", np.zeros((2, 4, 4, 3), np.uint8))
    table = pd.DataFrame({"path": [f"clips/{n}.npy" for n, _, _ in rows], "label": [lab for _, lab, _ in rows],
                          "group": [g for _, _, g in rows], **extra})
    table.to_csv(folder / "clips.csv", index=False)
    return folder / "clips.csv"


@pytest.fixture
def two_inputs(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """all_clips.csv (with a frame column) and a mined clips.csv (with a mined column) in other folders; groups
    g0..g7 in the first, g0..g3 (a hard-negative round over the same match halves) and g8, g9 in the second."""
    monkeypatch.chdir(tmp_path)
    first = [(f"a{i:02d}", int(i % 4 == 0), f"g{i % 8}") for i in range(32)]
    second = [(f"m{i:02d}", 0, f"g{i % 4}" if i < 12 else f"g{8 + i % 2}") for i in range(16)]
    return (_clip_folder(tmp_path / "data" / "all", first, frame=[100 * i for i in range(32)]),
            _clip_folder(tmp_path / "detections" / "m3", second, mined=[1] * 16))


def test_several_inputs_are_split_together_with_groups_whole_across_them(two_inputs, tmp_path, capsys):
    first, second = two_inputs
    assert main(["--input_csv", str(first), str(second), "--output_dir", "out", "--val_split", "0.3"]) == 0
    train, val = pd.read_csv(tmp_path / "out" / "train.csv"), pd.read_csv(tmp_path / "out" / "val.csv")
    rows = pd.concat([train, val])
    assert len(rows) == 48 and rows["path"].is_unique
    assert not set(train["group"]) & set(val["group"]), "a group landed in both files"
    for group in ("g0", "g1", "g2", "g3"):  # in both inputs (4 + 3 rows): all 7 on one side
        assert sorted([(train["group"] == group).sum(), (val["group"] == group).sum()]) == [0, 7]
    # each row's path was resolved against its own CSV's folder, and written relative to the cwd
    assert all(Path(p).is_file() and not Path(p).is_absolute() for p in rows["path"])
    mined = rows[rows["path"].str.startswith("detections/m3/clips/")]
    assert len(mined) == 16 and rows["path"].str.startswith("data/all/clips/").sum() == 32
    out = capsys.readouterr().out
    assert f"from {first}: 32 rows" in out and f"from {second}: 16 rows" in out and "input: 48 clips" in out


def test_columns_of_some_inputs_are_kept_and_mined_is_0_or_1(two_inputs, tmp_path):
    first, second = two_inputs
    assert main(["--input_csv", str(first), str(second), "--output_dir", "out"]) == 0
    rows = pd.concat([pd.read_csv(tmp_path / "out" / f) for f in ("train.csv", "val.csv")])
    assert rows["mined"].dtype == np.int64 and set(rows["mined"]) == {0, 1}
    from_second = rows["path"].str.startswith("detections/")
    assert (rows["mined"] == from_second.astype(int)).all()  # 1 for the mined clips, 0 (filled) for the others
    assert rows.loc[from_second, "frame"].isna().all() and rows.loc[~from_second, "frame"].notna().all()
    text = (tmp_path / "out" / "train.csv").read_text().splitlines()
    assert all(line.split(",")[-1] in ("0", "1") for line in text[1:])  # written as integers, not 1.0


def test_a_missing_second_input_is_one_error_line_naming_it(two_inputs, tmp_path, capsys):
    first, _ = two_inputs
    assert main(["--input_csv", str(first), "nowhere/clips.csv", "--output_dir", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --input_csv nowhere/clips.csv: no such file"), err
    assert not (tmp_path / "out").exists()


def test_errors_name_the_input_and_row_they_come_from(two_inputs, tmp_path, capsys):
    first, second = two_inputs
    table = pd.read_csv(second)
    table.loc[2, "mined"] = 5
    table.to_csv(second, index=False)
    assert main(["--input_csv", str(first), str(second), "--output_dir", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {second} row 3 (line 4): mined 5 is not 0 or 1"]
    table.loc[2, "mined"] = 1
    table.to_csv(second, index=False)
    (second.parent / "clips" / "m04.npy").unlink()  # row 5 of the second CSV
    assert main(["--input_csv", str(first), str(second), "--output_dir", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{second} row 5 (line 6): clips/m04.npy" in err[0] and "1 clip(s)" in err[0]
    assert main(["--input_csv", str(first), str(first), "--output_dir", "out"]) == 2
    assert capsys.readouterr().err.strip() == f"error: --input_csv {first}: given twice; name each CSV once"
    assert not (tmp_path / "out").exists()


def test_an_input_without_the_group_column_is_refused(two_inputs, tmp_path, capsys):
    first, second = two_inputs
    pd.read_csv(second).drop(columns=["group"]).to_csv(second, index=False)
    assert main(["--input_csv", str(first), str(second), "--output_dir", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --input_csv {second}: no column group"), err
