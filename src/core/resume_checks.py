"""`ckpt_path=…`: the checkpoint is read and checked before anything in its run folder is touched.

Checked in order: the file exists and is a Lightning checkpoint (not random bytes, JSON or a checkpoint.pth),
it belongs to this task, it is not a finished run (then: say so, exit 0, train nothing), and — once the model
is built — its tensors fit the model this config builds. Only then do loggers and writers open the folder.
"""
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from src.core.errors import UserError

log = logging.getLogger(__name__)

HINT = "pass a Lightning checkpoint such as <run dir>/last.ckpt, or auto"
AUTO = "auto"  # ckpt_path=auto: this run folder's last.ckpt when it has one (src/core/auto_resume.py)


def load_resume_checkpoint(path_text: str) -> dict:
    if not isinstance(path_text, str):  # ckpt_path=3, ckpt_path=[a,b], ckpt_path=true: not a file name
        raise UserError(f"ckpt_path={path_text}: not a file path; {HINT}")
    path = Path(path_text)
    if not path.is_file():
        raise UserError(f"ckpt_path={path}: no such file; {HINT}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # random bytes, JSON, a truncated file, a pickle with code in it
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise UserError(f"ckpt_path={path}: not a readable PyTorch checkpoint ({reason}); {HINT}") from None
    if not isinstance(ckpt, dict) or "pytorch-lightning_version" not in ckpt or "loops" not in ckpt:
        hint = HINT
        if isinstance(ckpt, dict) and "format" in ckpt:
            hint = ("that file holds a run's best weights only: resume from last.ckpt beside it, or start a new run "
                    "from it with continue_from= (task=clip)")
        raise UserError(f"ckpt_path={path}: not a Lightning training checkpoint; {hint}")
    return ckpt


def checkpoint_task(ckpt: dict) -> str | None:
    hparams = ckpt.get("hyper_parameters") or {}
    if "class_names" in hparams:
        return "clip"
    if "class_counts" in hparams:
        return "header"
    return None


def check_task(ckpt: dict, path: str, task: str) -> None:
    found = checkpoint_task(ckpt)
    if found != task:
        raise UserError(f"ckpt_path={path}: a task={found} checkpoint, but this run is task={task}; add task={found} "
                        f"(and that run's overrides) or pass a task={task} run's last.ckpt")


def continue_in_run_folder(cfg: DictConfig, path: str) -> None:
    """The resumed run keeps its folder and its id (run_id / run_name, whichever names the run folder)."""
    folder = Path(path).resolve().parent
    raw_run_dir = str(OmegaConf.to_container(cfg, resolve=False)["run_dir"])
    with open_dict(cfg):
        cfg.run_dir = str(folder)
        for key in ("run_id", "run_name"):
            if "${" + key + "}" in raw_run_dir:
                cfg[key] = folder.name


def finished_reason(ckpt: dict, max_epochs: int | None) -> str | None:
    """Why a checkpoint's run has nothing left to train (None: it has)."""
    epochs = ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"]
    if max_epochs is not None and max_epochs != -1 and epochs >= max_epochs:
        return f"all {max_epochs} epochs (trainer.max_epochs) are done"
    for key, state in (ckpt.get("callbacks") or {}).items():
        if key.startswith("EarlyStopping") and state.get("stopped_epoch", 0) > 0:
            return f"early stopping ended it after epoch {state['stopped_epoch']}"
    return None


def check_fits(ckpt: dict, path: str, module: torch.nn.Module, strict: bool) -> None:
    """Every tensor of the checkpoint has this model's shape, and the checkpoint holds every tensor the model
    trains (with `strict`: every tensor of its state dict)."""
    own = module.state_dict()
    saved = ckpt["state_dict"]
    problems = [f"{k} is {tuple(v.shape)} there, {tuple(own[k].shape)} here" for k, v in saved.items()
                if k in own and tuple(v.shape) != tuple(own[k].shape)]
    problems += [f"{k} is not in this model" for k in saved if k not in own]
    # A strict module needs all its tensors; any module needs every tensor it trains.
    needed = own if strict else [k for k, p in module.named_parameters() if p.requires_grad]
    problems += [f"{k} is missing from it" for k in needed if k not in saved]
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise UserError(f"ckpt_path={path}: does not fit the model this config builds: {'; '.join(problems[:2])}{more}; "
                        f"resume with the run's own overrides (its config.json / config.yaml)")


def check_resume(cfg: DictConfig) -> None:
    """ckpt_path=: a Lightning checkpoint of this task; the run then continues in its folder (as train() does).
    ckpt_path=auto is checked once the run folder is resolved (src/core/auto_resume.py)."""
    if cfg.ckpt_path is not None and cfg.ckpt_path != AUTO:
        check_task(load_resume_checkpoint(cfg.ckpt_path), cfg.ckpt_path, cfg.task.name)
        continue_in_run_folder(cfg, cfg.ckpt_path)
