"""The one registry of tasks: `task.name` -> its Task (src/core/task.py). The entry points import this module, never a
task package, so a new task is one `src/<task>/task.py` + one line here + `conf/task/<task>.yaml`.

Each task is imported only when asked for: `python -m src.detect` never loads CLIP.
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.core.errors import UserError
from src.core.manifest import read_manifest
from src.core.task import Task


def _clip() -> Task:
    from src.clip.task import TASK
    return TASK


def _header() -> Task:
    from src.header.task import TASK
    return TASK


@dataclass(frozen=True)
class Entry:
    load: Callable[[], Task]
    runs_key: str                    # the paths.* key of the folder its runs live in (run=<name> is looked up there)
    legacy_files: tuple[str, ...]    # files that mark this task's run folders written before run.json


REGISTRY = {
    "clip": Entry(_clip, "models_dir", ("config.json", "checkpoint.pth")),
    "header": Entry(_header, "report_dir", ("config.yaml", "best_metrics.json")),
}


def get_task(name: str) -> Task:
    if name not in REGISTRY:
        raise UserError(f"task={name}: no such task; choose one of: {', '.join(REGISTRY)}")
    return REGISTRY[name].load()


def run_task(run_dir: Path) -> str | None:
    """The task of the run in `run_dir`: its run.json says; a folder from before run.json is recognised by the files
    only that task writes (Task.legacy_files). None: not a run folder."""
    manifest = read_manifest(run_dir)
    if manifest is not None:
        return manifest["task"]
    for name, entry in REGISTRY.items():
        if all((Path(run_dir) / f).is_file() for f in entry.legacy_files):
            return name
    return None


def locate_run(spec: str, paths: dict) -> tuple[str, Path]:
    """`run=<spec>` -> (task name, run folder): a folder path, or a name under a task's runs folder (paths.*)."""
    candidates = [Path(spec)] + [Path(paths[entry.runs_key]) / spec for entry in REGISTRY.values()]
    for folder in candidates:
        if folder.is_dir() and (task := run_task(folder)) is not None:
            return task, folder
    looked = ", ".join(dict.fromkeys(str(c) for c in candidates))
    raise UserError(f"run={spec}: no run folder found (looked at {looked}); give a run's folder path or its name "
                    f"under {' or '.join(str(paths[entry.runs_key]) for entry in REGISTRY.values())}")
