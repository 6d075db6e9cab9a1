"""The one registry of tasks: `task.name` -> its Task (src/core/task.py). The entry points import this module, never a
task package, so a new task is one `src/<task>/task.py` + one line here + `conf/task/<task>.yaml`.

Each task is imported only when asked for: `python -m src.detect` never loads CLIP.
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.core.cli_checks import check_group_choices
from src.core.errors import UserError
from src.core.manifest import read_manifest
from src.core.override_checks import compose_checked
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
    "clip": Entry(_clip, "models_dir", ("config.json",)),
    "header": Entry(_header, "report_dir", ("best_metrics.json",)),
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


def task_of_run(spec: str, paths) -> str | None:
    """The task of run=<spec>: a folder path, or a name under a task's runs folder (`paths`: the paths.* section)."""
    candidates = [Path(spec)] + [Path(paths[entry.runs_key]) / spec for entry in REGISTRY.values()]
    return next((task for folder in candidates if folder.is_dir() and (task := run_task(folder)) is not None), None)


def follow_run_task(argv: list[str], config_name: str) -> list[str]:
    """The command line, with `task=<the run's task>` added when run= names another task's run than the root config
    composes by default: the task follows the run folder. A `task=` that contradicts the run is one line."""
    lines = [a for a in argv if not a.startswith("-") and a.split("=", 1)[0] in ("run", "task")
             or a.startswith("paths.")]
    check_group_choices(lines)  # task=nope: the one line every command gives for an unknown group choice
    cfg = compose_checked(lines, config_name)
    if cfg.get("run") is None or (task := task_of_run(str(cfg.run), cfg.paths)) is None \
            or task == cfg.task.name:
        return argv
    if any(a.split("=", 1)[0] == "task" for a in lines):
        raise UserError(f"run={cfg.run} is a task={task} run, not task={cfg.task.name}; drop task= (the task follows "
                        "the run folder)")
    return [*argv, f"task={task}"]
