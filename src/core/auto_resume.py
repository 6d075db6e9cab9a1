"""`ckpt_path=auto`: resume this run folder's last.ckpt when it has one and its run is not finished, else start a
fresh run there; a finished run is refused (one line, like a run folder that already holds a run).

The run folder is the resolved `run_dir`: auto finds a run again only where the folder's name is stable, i.e. a
fixed run_id / run_name, or under SLURM, where the default run id holds the job id (src/core/run_naming.py) and a
requeued job keeps its id. A default run id with a timestamp names a new folder each time: auto then starts fresh.
Every rank decides for itself from the same (shared) folder, before any rank has written to it.
"""
import json
import logging
from pathlib import Path

from omegaconf import DictConfig, open_dict
from pytorch_lightning.utilities import rank_zero_only

from src.core.errors import UserError
from src.core.resume_checks import AUTO, check_task, load_resume_checkpoint

log = logging.getLogger(__name__)


def resolve_auto_resume(cfg: DictConfig) -> str:
    """cfg.ckpt_path=auto -> the run folder's last.ckpt (resume) or null (fresh), set in `cfg`; -> the line saying
    which. UserError for a finished run. Call after the run folder is resolved."""
    run_dir = Path(cfg.run_dir)
    last = run_dir / "last.ckpt"
    status = recorded_status(run_dir)
    if status == "finished":
        raise UserError(f"ckpt_path=auto: {run_dir} is a finished run (status.json); nothing to resume: pick another "
                        f"run_id, or train it on with ckpt_path={last} and a larger trainer.max_epochs")
    resume = last.is_file()
    with open_dict(cfg):
        cfg.ckpt_path = str(last) if resume else None
    if resume:
        return f"ckpt_path=auto: resuming the {status or 'unfinished'} run in {run_dir} from {last}"
    return f"ckpt_path=auto: no last.ckpt in {run_dir}: starting a fresh run"


def load_auto_resume(cfg: DictConfig) -> dict | None:
    """resolve_auto_resume, the line logged (rank zero), and the checkpoint read and checked (None: fresh)."""
    line = resolve_auto_resume(cfg)
    if rank_zero_only.rank == 0:
        log.info(line)
    if cfg.ckpt_path is None:
        return None
    ckpt = load_resume_checkpoint(cfg.ckpt_path)
    check_task(ckpt, cfg.ckpt_path, cfg.task.name)
    return ckpt


def check_auto_resume(cfg: DictConfig) -> None:
    """The command-line check (src.train's check_command): a finished run or a bad last.ckpt is refused before
    Hydra creates anything."""
    if cfg.get("ckpt_path") == AUTO:
        resolve_auto_resume(cfg)
        if cfg.ckpt_path is not None:
            check_task(load_resume_checkpoint(cfg.ckpt_path), cfg.ckpt_path, cfg.task.name)


def recorded_status(run_dir: Path) -> str | None:
    """The status a run folder records (status.json, src/core/run_status.py); None: none, or unreadable."""
    try:
        record = json.loads((run_dir / "status.json").read_text())
    except (OSError, ValueError):
        return None
    return record.get("status") if isinstance(record, dict) else None
