"""The runs a command reads, checked before Hydra starts (src/core/command_line.py runs these as its
`after_resolve` / `before_resolve` steps): the finished run named by run= (src.evaluate, src.predict, src.detect)
and, for src.train, the checkpoint it resumes (ckpt_path=) or continues from (continue_from=). Each task's checks
are picked by task name from one mapping; they call the readers the commands themselves use, so a damaged run
folder is the same one line here as there. A task's modules are imported only when its check runs.
"""
from pathlib import Path

from omegaconf import DictConfig

from src.core.errors import UserError
from src.core.resume_checks import check_task, continue_in_run_folder, load_resume_checkpoint


def _clip_run(spec: str, cfg: DictConfig) -> None:
    from src.clip.run_loading import read_checkpoint, read_run_config, resolve_run_dir

    run_dir = resolve_run_dir(spec, Path(cfg.paths.models_dir))
    read_checkpoint(run_dir / "checkpoint.pth")  # first, as src/clip/eval_run.py reads them
    read_run_config(run_dir)


def _header_run(spec: str, cfg: DictConfig) -> None:
    from src.header import run_loading as header_runs

    run_dir = header_runs.resolve_header_run_dir(spec, Path(cfg.paths.report_dir))
    header_runs.read_header_config(run_dir)
    best = header_runs.read_best_metrics(run_dir)
    header_runs.read_header_checkpoint(run_dir / best["checkpoint"])


def _clip_training(cfg: DictConfig) -> None:
    from src.clip.artifacts import load_checkpoint
    from src.clip.task import resolve_continue_from

    if cfg.continue_from:
        path = resolve_continue_from(str(cfg.continue_from), Path(cfg.paths.models_dir))
        trained_on = load_checkpoint(path)["meta"]["backbone"]["name"]
        if trained_on != cfg.backbone.name:
            raise UserError(f"continue_from={path}: trained on backbone {trained_on}, this run uses "
                            f"{cfg.backbone.name}; pick the same backbone")


def _header_training(cfg: DictConfig) -> None:
    if cfg.continue_from is not None:
        raise UserError(f"continue_from={cfg.continue_from}: task=clip only; a task=header run starts from "
                        "backbone.ckpt=<pretrained weights>, or resumes with ckpt_path=<its run folder>/last.ckpt")


FINISHED_RUN = {"clip": _clip_run, "header": _header_run}       # task -> checks of a run folder given by run=
TRAINING_INPUTS = {"clip": _clip_training, "header": _header_training}   # task -> checks of what a run starts from


def check_finished_run(cfg: DictConfig, task: str) -> None:
    """run= names a readable finished run of `task` (its folder, config, metrics and checkpoint)."""
    FINISHED_RUN[task](str(cfg.run), cfg)


def check_resume(cfg: DictConfig) -> None:
    """ckpt_path=: a Lightning checkpoint of this task; the run then continues in its folder (as train() does)."""
    if cfg.ckpt_path is not None:
        check_task(load_resume_checkpoint(cfg.ckpt_path), cfg.ckpt_path, cfg.task.name)
        continue_in_run_folder(cfg, cfg.ckpt_path)


def check_training_inputs(cfg: DictConfig) -> None:
    TRAINING_INPUTS[cfg.task.name](cfg)
