"""Running an entry point's @hydra.main function after its command line was checked (src/core/command_line.py).

- Hydra's own errors (composing a later job of a sweep, an interpolation in its config) and OmegaConf errors that
  escape the job (an interpolation that cannot resolve) are one `error:` line and exit 2, like every bad input:
  HYDRA_FULL_ERROR makes Hydra raise them instead of printing its multi-line report.
- A job that stops on bad input after Hydra made its output folder (exit code 2: a checkpoint that does not fit
  the model, found only once the model is built) leaves no folder behind: what appeared beside the folder Hydra
  was to create, holding only Hydra's own files (.hydra/, the job's .log), is removed again.
"""
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from src.core.config_checks import config_error
from src.core.errors import one_line, one_line_errors


def run_command(check_command: Callable[[list[str]], Path | None], hydra_main: Callable[[], object]) -> None:
    """Every entry point's main(): check the command line (one `error:` line, exit 2, before Hydra creates any
    folder), then run the @hydra.main function. `check_command(argv)` returns the folder Hydra will create (None:
    no job runs) and may add overrides to `argv` (the task of the run given, src/tasks.py), which Hydra then sees."""
    argv = sys.argv[1:]
    with one_line_errors():
        output_dir = check_command(argv)
    sys.argv[1:] = argv
    run_hydra(hydra_main, output_dir)


def run_hydra(hydra_main: Callable[[], object], output_dir: Path | None) -> None:
    """Call `hydra_main()`; `output_dir`: the folder Hydra will create (check_command_line's answer), or None."""
    anchor = _existing_parent(output_dir) if output_dir is not None else None
    before = set(os.listdir(anchor)) if anchor is not None else set()
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        hydra_main()
    except (HydraException, OmegaConfBaseException) as err:
        line = str(config_error(err)) if isinstance(err, OmegaConfBaseException) else one_line(err)
        print(f"error: {line}", file=sys.stderr)
        _remove_new_hydra_folders(anchor, before)
        sys.exit(2)
    except SystemExit as exit_:
        if exit_.code == 2:
            _remove_new_hydra_folders(anchor, before)
        raise
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def _existing_parent(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _remove_new_hydra_folders(anchor: Path | None, before: set[str]) -> None:
    if anchor is None or not anchor.is_dir():
        return
    for name in sorted(set(os.listdir(anchor)) - before):
        entry = anchor / name
        if not _only_hydra_files(entry, anchor):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _only_hydra_files(entry: Path, anchor: Path) -> bool:
    """Every file under `entry` is Hydra's: in a .hydra folder, or a job log."""
    files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if not p.is_dir()]
    return all(".hydra" in p.relative_to(anchor).parts or p.suffix == ".log" for p in files)
