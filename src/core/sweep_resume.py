"""Sweeps that resume: run a multirun again with the same `hydra.sweep.dir` and only what is left gets trained.

Each job of a sweep keeps `<sweep dir>/<job>/job.json` ({"overrides": [...], "run_dir": ...}): which run folder it
trains in. A run folder's name holds the time it started (src/core/run_naming.py), so it cannot be derived again
later: the record is how a second run of the sweep finds it. When that job number comes up again with the same
overrides:
- its run folder says `finished` (status.json) and the job left its result.json: the job is skipped and returns
  that recorded result, so the sweeper (Optuna) and the summaries (summary.csv, the seed tables) see it;
- it did not finish but left `last.ckpt` (interrupted, killed, failed after an epoch): the job resumes from it
  (ckpt_path=<run dir>/last.ckpt: the same folder, the same run id);
- otherwise (no record, other overrides, nothing to resume from) it trains from scratch in a new run folder.
A job given its own ckpt_path, a single run, and the extra processes of strategy=ddp are left as they are.
"""
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from src.core.atomic import write_json

log = logging.getLogger(__name__)

JOB_RECORD = "job.json"
RESULT = "result.json"  # written by src.train at the end of a job: {"overrides": [...], figures...}


def train_or_skip(cfg: DictConfig, train: Callable[[DictConfig], dict]) -> dict:
    """`train(cfg)`, unless this sweep job finished in an earlier run of the sweep (its recorded result, then)."""
    if not _is_sweep_job(cfg):
        return train(cfg)
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    overrides = list(HydraConfig.get().overrides.task)
    run_dir = _recorded_run_dir(job_dir, overrides)
    if run_dir is not None and _status(run_dir) == "finished" and (job_dir / RESULT).is_file():
        result = json.loads((job_dir / RESULT).read_text())
        result.pop("overrides", None)
        print(f"job {job_dir.name}: {run_dir} finished in an earlier run of this sweep; skipped "
              f"(its result: {job_dir / RESULT})")
        return result
    if run_dir is not None and (run_dir / "last.ckpt").is_file():
        print(f"job {job_dir.name}: resuming {run_dir} from its last.ckpt")
        with open_dict(cfg):
            cfg.ckpt_path = str(run_dir / "last.ckpt")  # src.train keeps the run's folder and id
        return train(cfg)
    try:
        with open_dict(cfg):  # fixed now (it holds a timestamp), so the record names the folder train() uses
            cfg.run_id = str(cfg.run_id)
        run_dir = Path(str(cfg.run_dir))
    except OmegaConfBaseException:  # a config that does not resolve: train() reports it
        return train(cfg)
    write_json(job_dir / JOB_RECORD, {"overrides": overrides, "run_dir": str(run_dir)})
    return train(cfg)


def _is_sweep_job(cfg: DictConfig) -> bool:
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return False
    # ckpt_path=auto (the default under hydra/launcher=slurm) is a sweep job too: a finished job is skipped here,
    # before auto would refuse its finished run folder.
    return cfg.get("ckpt_path") in (None, "auto") and int(os.environ.get("LOCAL_RANK", "0")) == 0


def _recorded_run_dir(job_dir: Path, overrides: list[str]) -> Path | None:
    """The run folder an earlier run of this job trained in; None when there was none with these overrides."""
    try:
        record = json.loads((job_dir / JOB_RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("overrides") != overrides or not record.get("run_dir"):
        return None  # another sweep's job of the same number: not this job
    return Path(record["run_dir"])


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "status.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None
