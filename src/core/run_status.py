"""A run that fails after its folder exists says so in that folder, so nobody mistakes it for a result.

`status: failed` and the error line go into status.json and into the run's own summary files that already exist
(config.json for task=clip, best_metrics.json for task=header). A later successful resume sets `finished`.
"""
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytorch_lightning.utilities import rank_zero_only

from src.core.atomic import write_json
from src.core.errors import UserError

SUMMARY_FILES = ("config.json", "best_metrics.json")


def write_status(run_dir: Path, status: str, error: str | None = None) -> None:
    run_dir = Path(run_dir)
    if rank_zero_only.rank != 0 or not run_dir.is_dir():
        return
    record = {"status": status, "error": error, "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(run_dir / "status.json", record)
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
def recorded(run_dir: Path) -> Iterator[None]:
    """Run the body; on failure mark the run folder failed (and re-raise), on success mark it finished."""
    try:
        yield
    except UserError as err:
        write_status(run_dir, "failed", f"error: {err}")
        raise
    except BaseException as err:  # a crash or Ctrl-C: still not a result
        write_status(run_dir, "failed", f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        raise
    write_status(run_dir, "finished")
