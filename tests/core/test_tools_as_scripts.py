"""The seed's commands as written: `python data_tools/<tool>.py …` works like `python -m data_tools.<tool>`, and the
split tool resolves what the seed's example hands it (relative --root_dir, CSV paths relative to it or absolute
from another machine), writing paths a training command run from the same folder can open."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from src.header.data.dataset import read_header_csv

REPO = Path(__file__).resolve().parents[2]
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}


def script(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(Path("data_tools") / f"{tool}.py") if cwd == REPO else
                           str(REPO / "data_tools" / f"{tool}.py"), *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("tool", ["make_synthetic", "check_dataset", "make_header_clips", "resize_videos"])  # split: below
def test_tool_runs_as_a_script_from_the_repository_root(tool):
    result = script(tool, "--help", cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower() or "check_dataset" in result.stdout


def test_split_script_resolves_the_seeds_relative_and_foreign_paths(tmp_path):
    clips = tmp_path / "data" / "clips"
    clips.mkdir(parents=True)
    rows = []
    for i in range(12):
        np.save(clips / f"m{i % 4}_c{i}_s.npy", np.zeros((4, 8, 8, 3), np.uint8))
        # half as the original's CSV (absolute paths of the machine that made it, base names), half relative
        raw = f"/scratch/someone/dataset_generation/m{i % 4}_c{i}" if i % 2 else f"m{i % 4}_c{i}_s.npy"
        rows.append({"path": raw, "label": int(i % 3 == 0), "video_id": f"match_{i % 4}"})
    (tmp_path / "cache").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "cache" / "all.csv", index=False)
    result = script("split_dataset", "--input_csv", "cache/all.csv", "--output_dir", "scratch_output/split",
                    "--root_dir", "data/clips", "--val_split", "0.25", "--seed", "42", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [tmp_path / "scratch_output" / "split" / name for name in ("train.csv", "val.csv")]
    paths = pd.concat([pd.read_csv(csv) for csv in written])["path"]
    assert len(paths) == 12 and all(p.startswith("data/clips/m") and p.endswith("_s.npy") for p in paths)
    previous = Path.cwd()
    os.chdir(tmp_path)                                   # as the training command, run from the same folder
    try:
        tables = [read_header_csv(csv, check_clips=True, max_bad_fraction=0.0) for csv in written]
    finally:
        os.chdir(previous)
    assert sum(len(t.rows) for t in tables) == 12 and all(Path(f).is_file() for t in tables for f in t.rows["file"])
