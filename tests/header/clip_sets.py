"""Tiny .npy clip sets for the task=header tests, written into tmp_path (a helper module, not a test module)."""
from pathlib import Path

import numpy as np
import pandas as pd


def make_clip(label: int, rng: np.random.Generator, *, frames: int, size: int) -> np.ndarray:
    """(T, S, S, 3) uint8 noise; headers (label 1) carry a bright square in the middle frames (easy to learn)."""
    clip = rng.integers(0, 90, size=(frames, size, size, 3), dtype=np.uint8)
    if label == 1:
        lo, hi = size // 4, 3 * size // 4
        clip[frames // 4: frames - frames // 4, lo:hi, lo:hi] = 230
    return clip


def write_clip_set(root: Path, *, num_clips: int, frames: int = 8, size: int = 32, groups: int = 6,
                   positive_every: int = 3, seed: int = 0, name: str = "clips.csv") -> Path:
    """`num_clips` clips under root/clips/ + a CSV (path relative to root, label, video_id, half, frame, group)."""
    rng = np.random.default_rng(seed)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(num_clips):
        label = int(i % positive_every == 0)
        path = root / "clips" / f"clip_{i:03d}.npy"
        if not path.exists():
            np.save(path, make_clip(label, rng, frames=frames, size=size))
        group = i % groups
        rows.append({"path": f"clips/clip_{i:03d}.npy", "label": label, "video_id": f"match_{group:02d}",
                     "half": 1 + (i // groups) % 2, "frame": 100 * i, "group": f"match_{group:02d}"})
    csv = root / name
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


def train_val_csvs(root: Path, *, num_train: int = 12, num_val: int = 6, **kw) -> tuple[Path, Path]:
    """Two CSVs over disjoint clips (val clips get other seeds): a fast stand-in for split_dataset."""
    train = write_clip_set(root / "train", num_clips=num_train, seed=1, name="train.csv", **kw)
    val = write_clip_set(root / "val", num_clips=num_val, seed=2, name="val.csv", **kw)
    return train, val

