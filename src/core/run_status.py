"""A run that fails after its folder exists says so in that folder, so nobody mistakes it for a result.

`status: failed` and the error line go into status.json and into the run's own summary files that already exist
(config.json for task=clip, best_metrics.json for task=header). A later successful resume sets `finished`.
"""
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pytorch_lightning.utilities import rank_zero_only

from src.core.atomic import write_json
from src.core.disk_errors import disk_error_line
from src.core.errors import UserError
from src.core.interrupt import Interrupted
from src.core.manifest import now, update_manifest

SUMMARY_FILES = ("config.json", "best_metrics.json")


def write_status(run_dir: Path, status: str, error: str | None = None, files: dict | None = None) -> None:
    """status.json, run.json's status (and its `files`, when given), and the summary files' status."""
    run_dir = Path(run_dir)
    if rank_zero_only.rank != 0 or not run_dir.is_dir():
        return
    record = {"status": status, "error": error, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(run_dir / "status.json", record)
    update_manifest(run_dir, status=status, error=error, finished=now() if status == "finished" else None,
                    **({"files": files} if files is not None else {}))
    for name in SUMMARY_FILES:
        path = run_dir / name
        if not path.is_file():
            continue
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(content, dict) or (status != "failed" and "status" not in content):
            continue  # a successful run's files stay exactly as the writers made them
        content = {**content, "status": status}
        content.pop("error", None)
        if error:
            content["error"] = error
        write_json(path, content)


@contextmanager
def recorded(run_dir: Path, files: Callable[[], dict] = dict) -> Iterator[None]:
    """Run the body; on failure mark the run folder failed (and re-raise), on success mark it finished. A fit stopped
    by SIGTERM / SIGINT (src/core/interrupt.py) is `interrupted`: not a result, but resumable. `files`: the run's
    files by role as they stand at the end (run.json's `files`)."""
    try:
        yield
    except Interrupted as err:
        _write_if_possible(run_dir, "interrupted", err.line, files)
        raise
    except BaseException as err:  # bad input, a full disk, a crash: still not a result
        _write_if_possible(run_dir, "failed", _error_line(err), files)
        raise
    write_status(run_dir, "finished", files=files())


def _error_line(err: BaseException) -> str:
    if isinstance(err, UserError):
        return f"error: {err}"
    if (line := disk_error_line(err)) is not None:
        return f"error: {line}"
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def _write_if_possible(run_dir: Path, status: str, error: str, files: Callable[[], dict]) -> None:
    """The disk that stopped the run may refuse status.json too: then it is skipped, and the first error (which the
    caller re-raises) is what the user sees."""
    try:
        write_status(run_dir, status, error, files())
    except OSError:
        pass
