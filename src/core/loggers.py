"""Loggers and callbacks from their named config entries (conf/logger, conf/callbacks)."""
import contextlib
import csv
import io
import logging
import os
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment

from src.core.atomic import write_text

log = logging.getLogger(__name__)


def build_callbacks(cfg: DictConfig) -> list:
    # An entry without _target_ is a leftover setting of a removed callback (e.g. callbacks=none + a task's
    # early_stopping.patience): nothing to build.
    # Plain values (callbacks.last_every_n_steps) are settings, not callbacks.
    return [hydra.utils.instantiate(c) for c in (cfg.get("callbacks") or {}).values()
            if isinstance(c, DictConfig) and "_target_" in c]


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
    """W&B runs offline unless a key is available (WANDB_API_KEY, or the git-ignored token file) and
    WANDB_MODE does not say offline/disabled."""
    token_file = Path(entry.pop("token_file"))
    offline = entry.pop("offline")
    key = os.environ.get("WANDB_API_KEY")
    if not key and token_file.is_file():
        key = token_file.read_text().strip() or None
        if key:
            os.environ["WANDB_API_KEY"] = key
    env_mode = os.environ.get("WANDB_MODE", "").lower()
    if offline == "auto":
        offline = key is None or env_mode in ("offline", "dryrun", "disabled")
    if offline:
        why = f"WANDB_MODE={env_mode}" if env_mode in ("offline", "dryrun", "disabled") else (
            "logger.wandb.offline=true" if key else f"no WANDB_API_KEY / {token_file}")
        log.info("wandb: offline (%s); sync later with `wandb sync %s/wandb`", why, entry.get("save_dir", "."))
    else:
        log.info("wandb: online")
    return {**entry, "offline": bool(offline)}


class _AppendingWriter(ExperimentWriter):
    """Keeps an existing metrics.csv (Lightning's writer deletes it): a resumed run or a test stage appends.

    Each save writes the whole file again through src/core/atomic.py: Lightning's appends and in-place header
    rewrites leave a torn or emptied metrics.csv when the disk fills up. (The file holds a row per logging step: a
    few hundred kB for a long run, written every `flush_logs_every_n_steps` and at the end.)"""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = list(next(csv.reader(file), []))

    def save(self) -> None:
        if not self.metrics:
            return
        self._record_new_keys()
        rows = []
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                rows = list(csv.DictReader(file))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.metrics_keys)
        writer.writeheader()
        writer.writerows(rows + self.metrics)
        write_text(Path(self.metrics_file_path), text.getvalue())
        self.metrics = []


class AppendingCSVLogger(CSVLogger):
    """CSVLogger whose metrics.csv survives resumes (ckpt_path=…) and later stages: rows are appended."""

    def finalize(self, status: str) -> None:
        if status != "failed":
            return super().finalize(status)
        # The run is failing already, perhaps on this very disk: its error is the one to report, and Lightning's
        # cleanup after this (teardown, signal handlers) must still run.
        with contextlib.suppress(OSError):
            super().finalize(status)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment
