"""Build a generated dataset folder all at once: into a hidden temp folder beside it, then one rename.

A folder at `root` therefore either does not exist or is complete; an interrupted run leaves at most a hidden
`.<name>.partial-*` folder behind. Completeness is recorded in `<root>/synthetic_info.json` (the generator's
parameters + every file it wrote), written last, and checked before skipping.
"""
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from src.core.errors import UserError

log = logging.getLogger(__name__)

INFO_FILE = "synthetic_info.json"


def read_info(root: Path) -> dict | None:
    """The info record of a generated dataset at `root`, or None when there is none (or it is unreadable)."""
    try:
        info = json.loads((Path(root) / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def is_complete(root: Path, params: dict) -> bool:
    """True when `root` was generated with exactly `params` and every file it lists is still there."""
    info = read_info(root)
    if info is None or info.get("params") != params:
        return False
    return all((Path(root) / name).is_file() for name in info.get("files", []))


def build_dataset_dir(root: Path, params: dict, build: Callable[[Path], list[str]], force: bool) -> bool:
    """Run `build(tmp_dir) -> relative paths written` and move the result to `root`.

    Skips (returns False) when `root` is already complete for `params`, unless `force`. Never deletes a
    folder this tool did not make: a non-empty `root` without an info file is an error, even with `force`.
    Returns True when it built the dataset.
    """
    root = Path(root)
    if not force and is_complete(root, params):
        log.info("%s: already complete, skipped (--force / force=True regenerates it)", root)
        return False
    _check_replaceable(root, params, force)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        files = build(tmp)
        info = {"params": params, "files": sorted(files)}
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=1) + "\n")  # last: marks the folder complete
        if not force and is_complete(root, params):
            # Another process (a second DDP rank, a parallel test) finished the same dataset meanwhile: keep
            # theirs rather than swap folders under a reader.
            log.info("%s: completed by another process meanwhile; using it", root)
            return False
        return _move_into_place(tmp, root, params)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _check_replaceable(root: Path, params: dict, force: bool) -> None:
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return
    info = read_info(root)
    if info is None:
        raise UserError(f"{root}: exists and is not a dataset made by data_tools.make_synthetic (no "
                        f"{INFO_FILE}); choose another --root, or move that folder away yourself")
    if not force and info.get("params") != params:  # same params but files missing: ours and broken, rebuild
        raise UserError(f"{root}: holds a synthetic dataset made with {info.get('params')}, not the requested "
                        f"{params}; pass --force (force=True) to regenerate it, or choose another --root")


def _move_into_place(tmp: Path, root: Path, params: dict) -> bool:
    """Swap the finished temp folder in; the old dataset (if any) is removed only after the swap."""
    old = None
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        os.replace(root, old / root.name)
    try:
        os.rename(tmp, root)
    except OSError:
        if old is not None and not root.exists():
            os.replace(old / root.name, root)  # put the previous dataset back rather than lose it
        if is_complete(root, params):  # another process renamed its copy in first: use theirs
            log.info("%s: completed by another process meanwhile; using it", root)
            return False
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return True
