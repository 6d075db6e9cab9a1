"""`python -m src.train [overrides]`: compose conf/ -> build the task -> fit -> artifacts + a summary.

    python -m src.train experiment=demo
    python -m src.train method=dual_coop dataset=ucf101
    python -m src.train task=header backbone=vmae finetune=frozen dataset.train_csv=… dataset.val_csv=…
    python -m src.train -m method.ctx_len=4,8,16 method.pooling=mean,attention
"""
import logging
import os
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.utilities import rank_zero_only
from rich.console import Console
from rich.table import Table

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver before Hydra composes)
from src.core.atomic import write_json
from src.core.auto_resume import check_auto_resume, load_auto_resume
from src.core.checkpoint_writer import AtomicCheckpointIO
from src.core.cli_checks import CONF_DIR
from src.core.command_line import check_command_line
from src.core.config_checks import check_backbone_kind, check_devices, check_run_folder, check_values, resolve
from src.core.cpu_threads import apply_cpu_threads
from src.core.errors import one_line_errors
from src.core.hydra_run import run_command
from src.core.loggers import build_callbacks, build_loggers
from src.core.manifest import start_manifest
from src.core.resume import resume_callbacks
from src.core.resume_checks import (
    AUTO,
    check_fits,
    check_resume,
    check_task,
    continue_in_run_folder,
    finished_reason,
    load_resume_checkpoint,
)
from src.core.run_claim import claimed_run_folder
from src.core.run_ids import check_run_ids, check_sweep_run_ids
from src.core.run_status import recorded
from src.core.slurm_requeue import lightning_slurm_environment
from src.core.sweep_resume import train_or_skip
from src.tasks import get_task

log = logging.getLogger(__name__)

RUN_DIR_ENV = "VIDEOPROMPT_RUN_DIR"  # handed to the processes strategy=ddp launches

# The original scripts' names -> the trainer keys they stand for.
ALIASES = {"epochs": "max_epochs", "batches_per_backprop": "accumulate_grad_batches", "gpus": "devices"}


def apply_aliases(cfg: DictConfig) -> None:
    with open_dict(cfg):
        for alias, key in ALIASES.items():
            if cfg.get(alias) is not None:
                cfg.trainer[key] = cfg[alias]
        devices = cfg.trainer.devices
        if OmegaConf.is_list(devices) and len(devices) > 1 and cfg.trainer.strategy == "auto":
            cfg.trainer.strategy = "ddp"  # a list of GPU ids means DDP, never DataParallel


def train(cfg: DictConfig) -> dict:
    """Check, build everything from `cfg`, fit (or validate), and return the run's headline figures."""
    ckpt = None
    if cfg.ckpt_path is not None and cfg.ckpt_path != AUTO:  # read and checked before its run folder is touched
        ckpt = load_resume_checkpoint(cfg.ckpt_path)
        check_task(ckpt, cfg.ckpt_path, cfg.task.name)
        continue_in_run_folder(cfg, cfg.ckpt_path)  # same folder, same run id
    if os.environ.get(RUN_DIR_ENV) and int(os.environ.get("LOCAL_RANK", "0")) > 0:
        with open_dict(cfg):  # strategy=ddp re-runs this command per rank: every rank writes to rank 0's folder
            cfg.run_dir = os.environ[RUN_DIR_ENV]
    check_backbone_kind(cfg)
    apply_aliases(cfg)  # before resolving: keys that follow trainer.max_epochs (scheduler.T_max, …) see the alias
    resolve(cfg)  # once: fixes the run folder's timestamp for the whole run
    check_run_ids(cfg)  # run_id / run_name: one plain folder name each, before anything is created
    if cfg.ckpt_path == AUTO:  # the run folder is known now: its last.ckpt, or a fresh run
        ckpt = load_auto_resume(cfg)
    os.environ[RUN_DIR_ENV] = str(cfg.run_dir)
    check_values(cfg)
    with claimed_run_folder(cfg):  # never a folder that holds another run; <run_dir>/.lock until the run ends
        return build_and_fit(cfg, ckpt)


def build_and_fit(cfg: DictConfig, ckpt: dict | None) -> dict:
    """Build everything from the checked `cfg`, fit (or validate), and return the run's headline figures."""
    pl.seed_everything(cfg.seed, workers=True)

    apply_cpu_threads(cfg)  # trainer.cpu_threads: checked, applied, and taken out (not a Trainer argument)
    task = get_task(cfg.task.name)
    parts = task.build(cfg)
    if ckpt is not None:
        check_fits(ckpt, cfg.ckpt_path, parts.module, strict=getattr(parts.module, "strict_loading", True))
        if reason := finished_reason(ckpt, cfg.trainer.max_epochs):
            # Printed, not logged: the outcome of the command, whatever the logging config says.
            print(f"{cfg.run_dir} is a finished run ({reason}): nothing to train; resume with a larger "
                  "trainer.max_epochs to train on")
            return {}
        del ckpt
    resume = resume_callbacks(cfg.run_dir, cfg.callbacks.last_every_n_steps, cfg.callbacks.requeue_on_sigterm)
    callbacks = build_callbacks(cfg) + resume + parts.callbacks
    trainer: pl.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=build_loggers(cfg),
                                                  plugins=[AtomicCheckpointIO(),  # best/last.ckpt: temp + rename
                                                           *lightning_slurm_environment()])
    if rank_zero_only.rank == 0:  # run.json: what this run is, from now on (a resumed run keeps its own)
        config = OmegaConf.to_container(cfg, resolve=True)
        start_manifest(parts.run_dir, task.name, task.describe_run(config), task.run_files(parts.run_dir))
    with recorded(parts.run_dir, files=lambda: task.run_files(parts.run_dir)):
        if cfg.validate_only:
            trainer.validate(parts.module, datamodule=parts.datamodule)
        else:
            trainer.fit(parts.module, datamodule=parts.datamodule, ckpt_path=cfg.ckpt_path, weights_only=True)
            if cfg.task.test_after_fit and getattr(parts.datamodule, "has_test", False):
                best = trainer.checkpoint_callback and not trainer.fast_dev_run  # fast_dev_run saves none
                trainer.test(parts.module, datamodule=parts.datamodule, ckpt_path="best" if best else None,
                             weights_only=True)

    summary = parts.summary() if trainer.is_global_zero else {}
    if trainer.is_global_zero:
        _print_summary(summary)
        if HydraConfig.initialized():  # one result per job: the sweep summary reads these
            out = Path(HydraConfig.get().runtime.output_dir)
            write_json(out / "result.json", {"overrides": list(HydraConfig.get().overrides.task), **summary})
    return summary


def _print_summary(summary: dict) -> None:
    table = Table(title="run summary", show_header=False)
    for key, value in summary.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def optimized_metric(cfg: DictConfig, summary: dict) -> float | None:
    """The figure a sweeper optimises (Optuna): the run summary's `task.optimize_metric` (None off rank zero)."""
    value = summary.get(cfg.task.optimize_metric)
    return None if value is None else float(value)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")  # absolute: works under -m and in-process
def hydra_main(cfg: DictConfig) -> float | None:
    with one_line_errors():
        return optimized_metric(cfg, train_or_skip(cfg, train))  # a sweep run again: finished jobs skipped


def check_training_inputs(cfg: DictConfig) -> None:
    get_task(cfg.task.name).check_training_inputs(cfg)


def check_command(argv: list[str]) -> Path | None:
    """What train() would refuse, checked before Hydra creates its output folder (returned; None: no job runs)."""
    check_sweep_run_ids(argv)
    return check_command_line(argv, "train", before_resolve=[check_resume, apply_aliases],
                              after_resolve=[check_run_ids, check_auto_resume, check_devices, check_run_folder,
                                             check_training_inputs])


def main() -> None:
    run_command(check_command, hydra_main)


if __name__ == "__main__":
    main()
