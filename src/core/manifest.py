"""`run.json`, every run folder's manifest: what the run is, where it stands, which file plays which role.

    {"format": 1, "task": "clip", "run_id": "...", "method": ..., "backbone": ..., "dataset": ...,
     "status": "running | finished | failed | interrupted", "error": null,
     "files": {"config": "config.json", "best_weights": "checkpoint.pth", "last_checkpoint": "last.ckpt", ...},
     "versions": {"videoprompt": "0.1.0", "torch": "...", "pytorch_lightning": "...", "git_commit": "..."},
     "created": "2026-12-07T10:15:00Z", "finished": null}

Written by src.train when the run folder is made, refreshed when the run ends (src/core/run_status.py); read first by
every tool that reads a run folder. It is data: plain JSON, never instantiated. Folders from before it have none:
`read_manifest` returns None and the tools fall back to the task's own files (Task.legacy_files).
"""
import json
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from src.core.atomic import write_json
from src.core.errors import UserError
from src.core.provenance import git_commit

MANIFEST = "run.json"
FORMAT = 1
STATUSES = ("running", "finished", "failed", "interrupted")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions() -> dict[str, str | None]:
    try:
        package = version("videoprompt")
    except PackageNotFoundError:  # run from a checkout that was never installed
        package = None
    return {"videoprompt": package, "torch": torch.__version__, "pytorch_lightning": pl.__version__,
            "git_commit": git_commit()}


def new_manifest(task: str, run_dir: Path, about: dict[str, Any], files: dict[str, Any]) -> dict:
    """The manifest of a run that starts now in `run_dir` (`about`: method / backbone / dataset …)."""
    return {"format": FORMAT, "task": task, "run_id": Path(run_dir).name, **about, "status": "running",
            "error": None, "files": files, "versions": versions(), "created": now(), "finished": None}


def write_manifest(run_dir: Path, manifest: dict) -> Path:
    return write_json(Path(run_dir) / MANIFEST, manifest)


def read_manifest(run_dir: Path) -> dict | None:
    """The folder's run.json, checked; None when the folder has none (a run from before the manifest)."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: unreadable run manifest ({type(err).__name__}); the run folder is damaged, "
                        "train the run again") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("task"), str) \
            or not isinstance(manifest.get("files"), dict) or manifest.get("status") not in STATUSES:
        raise UserError(f"{path}: not a run manifest of this project (needs task, status and files); the run "
                        "folder is damaged, train the run again")
    return manifest


def start_manifest(run_dir: Path, task: str, about: dict[str, Any], files: dict[str, Any]) -> None:
    """A new run: a new run.json; a resumed one (ckpt_path=) keeps its own and is `running` again."""
    if read_manifest(run_dir) is None:
        write_manifest(run_dir, new_manifest(task, run_dir, about, files))
    else:
        update_manifest(run_dir, status="running", error=None, finished=None)


def update_manifest(run_dir: Path, **changes: Any) -> None:
    """Change some keys of an existing run.json (status, finished, files …); no manifest: nothing to do."""
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(manifest, dict):
        write_json(path, {**manifest, **changes})


def present_files(run_dir: Path, roles: dict[str, str]) -> dict[str, str]:
    """role -> file (relative to the run folder) for the files of `roles` that exist now."""
    return {role: name for role, name in roles.items() if (Path(run_dir) / name).exists()}
