"""data_tools/check_dataset.py on task=header: label balance, missing / unreadable / mis-shaped .npy clips, short
clips, and leaks (a group or a clip in both CSVs); exit 0 when clean, 2 with problems."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

MODULE = "data_tools.check_dataset"


def write_set(root: Path) -> tuple[Path, Path]:
    """8 clips of (8, 16, 16, 3) uint8: matches m1, m2 train, m3, m4 val; one header per match."""
    (root / "clips").mkdir(parents=True)
    rows = []
    for i in range(8):
        np.save(root / "clips" / f"c{i}.npy", np.full((8, 16, 16, 3), i, np.uint8))
        rows.append({"path": f"clips/c{i}.npy", "label": int(i % 2 == 0), "video_id": f"m{i // 2 + 1}"})
    table = pd.DataFrame(rows)
    table[:4].to_csv(root / "train.csv", index=False)
    table[4:].to_csv(root / "val.csv", index=False)
    return root / "train.csv", root / "val.csv"


def run(cli, tmp_path, train: Path, val: Path, *extra: str):
    return cli(["task=header", f"dataset.train_csv={train}", f"dataset.val_csv={val}", "dataset.num_frames=8",
                *extra], tmp_path, module=MODULE)


def report_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "outputs" / "run" / "dataset_report.json").read_text())


def test_clean_csvs_exit_0_with_balance_and_shapes(cli, tmp_path):
    train, val = write_set(tmp_path / "set")
    result = run(cli, tmp_path, train, val, "check.decode=all")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = report_of(tmp_path)
    assert report["ok"] and report["problems"] == [] and report["warnings"] == []
    assert report["label_balance"]["train"] == {"rows": 4, "header": 2, "non_header": 2, "header_fraction": 0.5}
    assert report["clip_shapes"] == {"frames": {"min": 8, "median": 8, "max": 8, "count": 8}, "size": {"16x16": 8}}


def test_planted_problems_are_each_reported_and_exit_2(cli, tmp_path):
    root = tmp_path / "set"
    train, val = write_set(root)
    (root / "clips" / "c1.npy").unlink()                                   # missing
    (root / "clips" / "c2.npy").write_bytes(b"\x93NUMPY garbage")           # unreadable
    np.save(root / "clips" / "c3.npy", np.zeros((8, 16, 16), np.uint8))     # no channel axis
    np.save(root / "clips" / "c5.npy", np.zeros((3, 16, 16, 3), np.uint8))  # short: a warning only
    table = pd.read_csv(val)
    table.loc[0, "video_id"] = "m1"                                         # a train match in val
    table.loc[1, "label"] = 2
    table.loc[len(table)] = {"path": "clips/c0.npy", "label": 1, "video_id": "m9"}   # a train clip in val
    table.to_csv(val, index=False)
    result = run(cli, tmp_path, train, val)
    assert result.returncode == 2
    report = report_of(tmp_path)
    found = {f["kind"]: f["items"] for f in report["problems"]}
    assert set(found) == {"missing_files", "unreadable_clips", "misshaped_clips", "bad_labels", "groups_in_both",
                          "duplicate_paths_across_splits"}
    assert found["missing_files"] == [{"where": f"{train} row 2 (line 3)", "path": "clips/c1.npy"}]
    assert found["unreadable_clips"][0]["where"] == f"{train} row 3 (line 4)"
    assert found["misshaped_clips"] == [{"where": f"{train} row 4 (line 5)", "shape": [8, 16, 16], "dtype": "uint8"}]
    assert found["bad_labels"] == [{"where": f"{val} row 2 (line 3)", "label": "2"}]
    assert found["groups_in_both"] == [{"video_id": "m1"}]
    assert found["duplicate_paths_across_splits"] == [{"path": str((root / "clips" / "c0.npy").resolve())}]
    assert [w["kind"] for w in report["warnings"]] == ["short_clips"]
    assert report["warnings"][0]["items"] == [{"where": f"{val} row 2 (line 3)", "frames": 3}]


def test_missing_csv_is_one_error_line(cli, tmp_path):
    result = run(cli, tmp_path, tmp_path / "nope.csv", tmp_path / "val.csv")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert lines[0].startswith(f"error: dataset.train_csv={tmp_path / 'nope.csv'}: no such file")
