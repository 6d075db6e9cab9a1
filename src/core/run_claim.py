"""A training run gets a run folder of its own: never one that holds another run, never one another process uses.

`claimed_run_folder(cfg)` around the build and fit of `src.train`:
- a folder that already holds a run (RUN_FILES) is refused, unless this run resumes it (`ckpt_path` inside it;
  `ckpt_path=auto` is resolved to the folder's last.ckpt before the claim, src/core/auto_resume.py);
- `<run_dir>/.lock` (src/core/run_lock.py) is held until the run ends, however it ends (error, Ctrl-C);
- folders it had to create and that are still empty at the end (a run refused before it wrote anything) are
  removed again, so bad input leaves nothing behind.
Only rank zero claims: DDP ranks > 0 (strategy=ddp re-runs the command with LOCAL_RANK > 0; torchrun, SLURM) write
into rank zero's folder, which rank zero holds.
"""
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from src.core.errors import UserError
from src.core.run_lock import RunLock

# What the writers of either task put in a run folder (src/clip/artifacts.py, src/header/artifacts.py,
# src/core/resume.py, src/core/run_status.py): any one of them means a run was (or is being) made there.
RUN_FILES = ("run.json", "config.json", "config.yaml", "last.ckpt", "checkpoint.pth", "best_metrics.json",
             "status.json", "training_log.json", "checkpoints")


@contextmanager
def claimed_run_folder(cfg: DictConfig) -> Iterator[None]:
    if rank_zero_only.rank != 0:
        yield
        return
    run_dir = Path(cfg.run_dir)
    label = f"run_id={cfg.run_id}" if run_dir.name == str(cfg.run_id) else f"run_dir={run_dir}"
    resuming = cfg.get("ckpt_path") is not None and Path(cfg.ckpt_path).resolve().parent == run_dir.resolve()
    if not resuming:
        refuse_a_run_folder(run_dir, label)  # before the lock: a refused run touches nothing
    created = _make_folders(run_dir)
    lock = RunLock(run_dir, label)
    try:
        lock.acquire()
        try:
            if not resuming:
                refuse_a_run_folder(run_dir, label)  # again, holding the lock: a run may have finished meanwhile
            with warnings.catch_warnings():  # the folder is this run's: what ModelCheckpoint finds there is ours
                warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
                yield
        finally:
            lock.release()
    finally:
        _remove_if_empty(created)


def refuse_a_run_folder(run_dir: Path, label: str) -> None:
    found = [name for name in RUN_FILES if (run_dir / name).exists()]
    if not found:
        return
    resume = f" or resume it with ckpt_path={run_dir / 'last.ckpt'}" if (run_dir / "last.ckpt").is_file() else ""
    sweep = " (in a sweep, leave run_id unset: every job gets its own -jN folder)" if _in_a_sweep() else ""
    raise UserError(f"{label}: {run_dir} already holds a run ({', '.join(found)}); pick another run_id{resume}"
                    f"{sweep}")


def _in_a_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _make_folders(run_dir: Path) -> list[Path]:
    """Create `run_dir` (and its missing parents); -> the folders created, outermost first."""
    missing = []
    folder = run_dir.absolute()
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"run folder {run_dir} cannot be created ({err.strerror or err}); point paths.models_dir "
                        "(task=clip) or paths.report_dir (task=header) at a writable place") from None
    return missing[::-1]


def _remove_if_empty(created: list[Path]) -> None:
    for folder in reversed(created):  # innermost first; stop at the first that holds something
        try:
            folder.rmdir()
        except OSError:
            return
