"""Find a finished run's folder from what the user typed (`run=…`): a path, or a name under the task's runs folder."""
from pathlib import Path

from src.core.errors import UserError


def find_run_folder(spec: str, runs_dir: Path, needs: tuple[str, ...], task: str, name_form: str) -> Path:
    """The first of `spec` (a path) and `runs_dir / spec` that is a folder holding every file in `needs`.

    A folder that lacks one of them, or no folder at all, is one UserError naming what was looked at; `task`
    ("task=clip") and `name_form` ("'method/dataset/run_id'") say what the user may give instead.
    """
    candidates = (Path(spec), Path(runs_dir) / spec)
    for candidate in candidates:
        if candidate.is_dir() and all((candidate / name).is_file() for name in needs):
            return candidate
    for candidate in candidates:
        if candidate.is_dir():
            raise UserError(f"run={spec}: {candidate} is not a {task} run folder (needs {' and '.join(needs)}); "
                            f"give {name_form} of a finished run under {runs_dir} or its folder path")
    raise UserError(f"run={spec}: found neither the folder {spec} nor {candidates[1]}; give {name_form} of a "
                    f"finished {task} run (see {runs_dir}) or a run folder path")
