"""The `run_tag` resolver: readable, unique run folder names ("k16-attention-s0-20261121-051500").

Registered on import (src.train imports it before Hydra composes). The config is resolved once at the start of a
run, so the timestamp is fixed for the whole run; under SLURM the job id replaces it (the same on every rank and
node). In a Hydra multirun the job number is appended, so jobs that start within the same second never share a
folder.
"""
import os
from datetime import datetime

from omegaconf import OmegaConf


def run_tag(prefix: str) -> str:
    # Under SLURM every rank of a job resolves this on its own: the job id is the same for all of them.
    job = os.environ.get("SLURM_JOB_ID")
    tag = f"{prefix}-slurm{job}" if job else f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode == RunMode.MULTIRUN:
            tag += f"-j{hydra_cfg.job.num}"
    except ValueError:  # no Hydra context (tests composing configs by hand)
        pass
    return tag


def first_set(*values):
    """`${first_set:${run_name},${run_tag:…}}` -> the first value that is not null (run_name is run_id's alias)."""
    return next((v for v in values if v is not None), None)


def readable(value) -> str:
    """`${readable:${dataset.k_train}}` -> "all" for null, else the value as text."""
    return "all" if value is None else str(value)


if not OmegaConf.has_resolver("run_tag"):
    OmegaConf.register_new_resolver("run_tag", run_tag)
    OmegaConf.register_new_resolver("readable", readable)
    OmegaConf.register_new_resolver("first_set", first_set)
