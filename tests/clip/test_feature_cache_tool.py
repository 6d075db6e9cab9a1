"""data_tools/cache_features.py (library: src/clip/feature_cache_tool.py): pre-builds the frame-feature cache that
a `dataset.feature_cache=read` run needs, as `-m` and as a script."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _entries(tmp_path: Path) -> dict[str, int]:
    return {str(p.relative_to(tmp_path)): p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.npy")}


def test_the_tool_fills_every_cacheable_split_once(cli, synthetic_root, tiny_clip_run, tmp_path):
    args = ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run]
    first = cli(args, tmp_path, module="data_tools.cache_features")
    assert first.returncode == 0, first.stderr[-3000:]
    lines = {line.split(":")[0]: line for line in first.stdout.splitlines() if " -> " in line}
    assert set(lines) == {"train", "val", "test"}  # the demo settings are deterministic: training is cached too
    entries = _entries(tmp_path)
    assert len(entries) >= 3 and all("'written': 0" not in line for line in lines.values())
    entry = np.load(tmp_path / next(iter(entries)))
    assert entry.dtype == np.float32 and entry.shape[:2] == (1, 4)  # (V, T, E): 1 view of 4 frames
    again = cli([*args, "dataset.feature_cache=read"], tmp_path, module="data_tools.cache_features")
    assert again.returncode == 0 and all("'written': 0" in line for line in again.stdout.splitlines() if " -> " in line)
    assert _entries(tmp_path) == entries  # read/auto: nothing rewritten


def test_a_method_that_prompts_the_image_tower_is_one_error_line(cli, synthetic_root, tiny_clip_run, tmp_path):
    result = cli(["method=dual_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run], tmp_path,
                 module="data_tools.cache_features")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: method=dual_coop cannot use cached frame")
    assert "Traceback" not in result.stderr and not (tmp_path / "cache").exists()


def test_runs_as_a_script_from_the_repo_root(tmp_path):
    """`python data_tools/cache_features.py …` (the repository root is not on sys.path then)."""
    env = {**os.environ, "PYTHONPATH": "", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "data_tools/cache_features.py", "method=no_such_method"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown method 'no_such_method'"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
