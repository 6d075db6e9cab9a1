"""Split one or more header CSVs into train.csv and val.csv: stratified by label, group-aware, paths fixed.

    python data_tools/split_dataset.py --input_csv all_clips.csv [detections/m3/clips.csv …] \
        --output_dir cache/header_16f --root_dir /data/header_clips --val_split 0.2 --seed 42

- Several inputs (e.g. the clips of a hard-negative mining round, `src.detect export_clips=true`) are read, each
  row's path resolved against its own CSV's folder, and split together: a group in two CSVs stays whole. A column
  only some inputs have is kept, empty for the others' rows (`mined`: 0).
- `--root_dir` fixes paths written on another machine: each row's file is looked up under root_dir (by its
  trailing path parts, longest first, then by file name) and written relative to the current directory
  (absolute when it cannot be). Rows whose file is missing are listed and the tool exits 2 unless
  `--allow_missing` (then they are dropped).
- Group-aware: rows sharing a group (`--group_col`, default the first of `group`, `video_id` present) never land in
  both files — clips of one match half are near-duplicates, so a random row split leaks.
- Stratified: whole groups are picked so that each file's share of headers is as close as possible to the input's
  (within one clip whenever the groups allow it) and val holds about `val_split` of the rows.
- Deterministic for a seed. Prints the size and class balance of each file.
"""
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.atomic import write_csv
from src.core.errors import UserError
from src.header.data.clip_csv import read_clip_csv
from src.header.data.dataset import clip_file_names

log = logging.getLogger(__name__)

GROUP_COLUMNS = ("group", "video_id")
SEARCH_STEPS = 4000  # random group moves tried per restart; enough for thousands of groups, still < 1 s


def pick_group_column(frame: pd.DataFrame, group_col: str | None) -> str | None:
    if group_col is not None:
        if group_col not in frame.columns:
            raise UserError(f"--group_col {group_col}: no such column (has: {', '.join(frame.columns)})")
        return group_col
    return next((c for c in GROUP_COLUMNS if c in frame.columns), None)


def split_rows(frame: pd.DataFrame, *, val_split: float, seed: int,
               group_col: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, val): whole groups per side, val ~ val_split of the rows, header share ~ the input's in both."""
    if not 0.0 < val_split < 1.0:
        raise UserError(f"--val_split {val_split}: must be between 0 and 1 (exclusive), e.g. 0.2")
    group_col = pick_group_column(frame, group_col)
    if group_col:
        groups = frame[group_col].astype(str)
    else:
        groups = pd.Series(np.arange(len(frame)).astype(str), index=frame.index)
    if group_col is None:
        log.warning("no group column (group, video_id): splitting single rows; near-duplicate clips may leak")
    per_group = pd.DataFrame({"g": groups, "pos": frame["label"].astype(int)}).groupby("g", sort=True)["pos"]
    counts = per_group.size()
    names, sizes, positives = counts.index.to_numpy(), counts.to_numpy(), per_group.sum().to_numpy()
    if len(names) < 2:
        raise UserError(f"only one group in column {group_col}: cannot split without leaking; use --group_col")
    in_val = _choose_val_groups(sizes, positives, val_split, seed)
    val_mask = groups.isin(set(names[in_val])).to_numpy()
    return frame[~val_mask].copy(), frame[val_mask].copy()


def _choose_val_groups(sizes: np.ndarray, positives: np.ndarray, val_split: float, seed: int) -> np.ndarray:
    """Boolean mask over groups: a seeded local search for the val set closest to the two targets."""
    rng = np.random.default_rng(seed)
    total, total_pos = sizes.sum(), positives.sum()
    target_rows, pos_ratio = val_split * total, total_pos / total

    def cost(n: int, p: int) -> float:
        # Class-balance deviation (in clips) first, then size; a side without rows is never acceptable.
        if n == 0 or n == total:
            return float("inf")
        balance = abs(p - pos_ratio * n)
        return max(balance - 1.0, 0.0) * 10.0 + balance * 0.1 + abs(n - target_rows) / max(target_rows, 1.0)

    best_mask, best_cost = None, float("inf")
    for _ in range(4):  # restarts from different random orders
        order = rng.permutation(len(sizes))
        mask = np.zeros(len(sizes), dtype=bool)
        n = p = 0
        for g in order:  # greedy fill up to the target size
            if n + sizes[g] <= target_rows or n == 0:
                mask[g], n, p = True, n + sizes[g], p + positives[g]
        current = cost(n, p)
        for _ in range(SEARCH_STEPS):  # move one group across, or swap two
            a = rng.integers(len(sizes))
            b = rng.integers(len(sizes)) if rng.random() < 0.5 else a
            if a != b and mask[a] == mask[b]:
                continue
            delta_n = sum((-1 if mask[g] else 1) * sizes[g] for g in {a, b})
            delta_p = sum((-1 if mask[g] else 1) * positives[g] for g in {a, b})
            new = cost(n + delta_n, p + delta_p)
            if new <= current:
                for g in {a, b}:
                    mask[g] = not mask[g]
                n, p, current = n + delta_n, p + delta_p, new
        if current < best_cost:
            best_mask, best_cost = mask.copy(), current
    return best_mask


def locate_file(raw: str, *, csv_dir: Path, root_dir: Path | None) -> Path | None:
    """Where the clip a row names is on this machine (see the module docstring), or None."""
    if root_dir is None:
        candidates = [Path(raw)] if Path(raw).is_absolute() else [csv_dir / raw, Path.cwd() / raw]
        found = [c for base in candidates for c in _name_variants(base) if c.is_file()]
        return found[0].resolve() if found else None
    parts = Path(raw.replace("\\", "/")).parts
    for start in range(len(parts)):  # longest trailing part first: root/<match>/<clip> before root/<clip>
        tail = [p for p in parts[start:] if p not in ("/", "")]
        if not tail:
            continue
        for candidate in _name_variants(root_dir.joinpath(*tail)):
            if candidate.is_file():
                return candidate.resolve()
    return None


def _name_variants(path: Path) -> list[Path]:
    return [path.with_name(name) for name in clip_file_names(path.name)]


def relative_or_absolute(path: Path, relative_to: Path) -> str:
    """`path` relative to `relative_to` when it lies under it, else absolute (as the original tool did)."""
    try:
        return str(Path(path).resolve().relative_to(Path(relative_to).resolve()))
    except ValueError:
        return str(Path(path).resolve())


def fix_paths(frame: pd.DataFrame, *, csv_dir: Path, root_dir: Path | None,
              relative_to: Path) -> tuple[pd.DataFrame, list[str]]:
    """Paths rewritten to files that exist here (relative to `relative_to`), and the rows whose file is missing."""
    located = [locate_file(str(raw), csv_dir=csv_dir, root_dir=root_dir) for raw in frame["path"]]
    missing = [f"row {i + 1} (line {i + 2}): {raw}"
               for i, (raw, loc) in enumerate(zip(frame["path"], located)) if loc is None]
    fixed = frame.copy()
    fixed["path"] = [relative_or_absolute(loc, relative_to) if loc is not None else None for loc in located]
    return fixed[fixed["path"].notna()].copy(), missing


def read_input(input_csv: Path) -> pd.DataFrame:
    """One input CSV, its 0/1 columns checked (label; `mined` of a hard-negative export) row by row."""
    frame = read_clip_csv(input_csv, "--input_csv")
    for column in ("label", "mined"):
        if column in frame.columns:
            bad = frame.index[~frame[column].isin([0, 1])]
            if len(bad):
                i = int(bad[0])
                value = frame[column].tolist()[i]  # a Python value: its repr is what the CSV holds
                raise UserError(f"{input_csv} row {i + 1} (line {i + 2}): {column} {value!r} is not 0 or 1")
    return frame


def combine(frames: list[pd.DataFrame], input_csvs: list[Path], group_col: str | None) -> pd.DataFrame:
    """The inputs' rows in one table. A column only some inputs have is empty for the others' rows (`mined`: 0,
    they were not mined); the group column must be in every input, or their rows could not be kept together."""
    combined = pd.concat(frames, ignore_index=True)
    if "mined" in combined.columns:
        combined["mined"] = combined["mined"].fillna(0).astype(int)
    used = pick_group_column(combined, group_col)
    for frame, input_csv in zip(frames, input_csvs):
        if used is not None and used not in frame.columns:
            raise UserError(f"--input_csv {input_csv}: no column {used} (the group column of the other inputs); "
                            f"add it, or pass --group_col with a column every input has")
    return combined


def describe(name: str, frame: pd.DataFrame, group_col: str | None) -> str:
    n, pos = len(frame), int(frame["label"].astype(int).sum())
    groups = f", {frame[group_col].nunique()} groups" if group_col else ""
    return f"{name}: {n} clips, {pos} header ({100.0 * pos / max(n, 1):.1f}%), {n - pos} non-header{groups}"


def split_dataset(input_csvs: list[Path], output_dir: Path, *, root_dir: Path | None, val_split: float, seed: int,
                  group_col: str | None, allow_missing: bool, relative_to: Path) -> tuple[Path, Path]:
    """Read every input, fix paths (each against its own CSV's folder), split the rows of all of them together
    (groups whole across the inputs), write `<output_dir>/train.csv` and `val.csv` (atomically); returns their
    paths."""
    input_csvs = [Path(p) for p in input_csvs]
    if root_dir is not None and not Path(root_dir).is_dir():
        raise UserError(f"--root_dir {root_dir}: no such folder; point it at the folder holding the .npy clips")
    twice = next((p for i, p in enumerate(input_csvs) if p.resolve() in {q.resolve() for q in input_csvs[:i]}), None)
    if twice is not None:
        raise UserError(f"--input_csv {twice}: given twice; name each CSV once")
    frames = [read_input(p) for p in input_csvs]
    if not 0.0 < val_split < 1.0:  # checked before the (slow) file lookups
        raise UserError(f"--val_split {val_split}: must be between 0 and 1 (exclusive), e.g. 0.2")
    fixed, missing = [], []
    for frame, input_csv in zip(frames, input_csvs):
        kept, lost = fix_paths(frame, csv_dir=input_csv.parent, root_dir=Path(root_dir) if root_dir else None,
                               relative_to=Path(relative_to))
        fixed.append(kept)  # rows named by their own CSV when there are several
        missing += lost if len(input_csvs) == 1 else [f"{input_csv} {row}" for row in lost]
    if missing:
        _report_missing(missing, input_csvs, root_dir, allow_missing)
    frame = combine(fixed, input_csvs, group_col)
    train, val = split_rows(frame, val_split=val_split, seed=seed, group_col=group_col)
    output_dir = Path(output_dir)
    train_csv, val_csv = write_csv(output_dir / "train.csv", train), write_csv(output_dir / "val.csv", val)
    used = pick_group_column(frame, group_col)
    if len(input_csvs) > 1:
        for input_csv, rows in zip(input_csvs, fixed):
            print(f"from {input_csv}: {len(rows)} rows")
    print(describe("input", frame, used))
    print(describe(f"train.csv ({train_csv})", train, used))
    print(describe(f"val.csv ({val_csv})", val, used))
    return train_csv, val_csv


def _report_missing(missing: list[str], input_csvs: list[Path], root_dir: Path | None, allow_missing: bool) -> None:
    """Rows whose clip is missing: one error line, or (--allow_missing) a listing before they are dropped."""
    if root_dir:
        where = f"under {root_dir}"
    elif len(input_csvs) == 1:
        where = f"relative to {input_csvs[0].parent} or {Path.cwd()}"
    else:
        where = f"relative to their CSV's folder or {Path.cwd()}"
    if not allow_missing:  # bad input is one line: the first few clips name the problem
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        sources = ", ".join(map(str, input_csvs))
        raise UserError(f"{len(missing)} clip(s) of {sources} not found {where} ({shown}); fix --root_dir, or "
                        f"pass --allow_missing to drop those rows")
    listing = "\n  ".join(missing[:20]) + (f"\n  … and {len(missing) - 20} more" if len(missing) > 20 else "")
    print(f"{len(missing)} clip(s) not found {where}:\n  {listing}", file=sys.stderr)
    log.warning("dropping %d rows whose clip is missing", len(missing))
