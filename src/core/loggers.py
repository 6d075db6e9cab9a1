"""Loggers and callbacks from their named config entries (conf/logger, conf/callbacks)."""
import logging
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def build_callbacks(cfg: DictConfig) -> list:
    # An entry without _target_ is a leftover setting of a removed callback (e.g. callbacks=none + a task's
    # early_stopping.patience): nothing to build.
    return [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()
            if c is not None and "_target_" in c]


def build_loggers(cfg: DictConfig) -> list:
    loggers = []
    for name, entry in (cfg.get("logger") or {}).items():
        if entry is None:
            continue
        entry = OmegaConf.to_container(entry, resolve=True)
        if name == "wandb":
            entry = _wandb_mode(entry)
        loggers.append(hydra.utils.instantiate(entry))
    return loggers


def _wandb_mode(entry: dict) -> dict:
    """W&B runs offline unless a key is available (WANDB_API_KEY, or the git-ignored token file)."""
    token_file = Path(entry.pop("token_file"))
    offline = entry.pop("offline")
    key = os.environ.get("WANDB_API_KEY")
    if not key and token_file.is_file():
        key = token_file.read_text().strip() or None
        if key:
            os.environ["WANDB_API_KEY"] = key
    if offline == "auto":
        offline = key is None
    log.info("wandb: %s", f"offline (no WANDB_API_KEY / {token_file})" if offline else "online")
    return {**entry, "offline": bool(offline)}
