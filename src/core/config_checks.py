"""Checks of the composed config before anything is built or written: one `error:` line naming the key.

- `check_backbone_kind` runs before interpolations are resolved (a CSN key read by a CLIP config would otherwise
  be an InterpolationKeyError traceback);
- `resolve` resolves the config, turning OmegaConf's errors into one line;
- `check_values` checks the keys every run reads (batch sizes, workers, epochs, frames, devices) and that the run
  folder can be created.
"""
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError
from src.core.override_checks import folder_problem


def check_backbone_kind(cfg: DictConfig) -> None:
    kinds = list(cfg.task.backbone_kinds)
    kind = OmegaConf.select(cfg, "backbone.kind", default=None)
    if kind not in kinds:
        fitting = [name for name, k in _backbone_kinds().items() if k in kinds]
        raise UserError(f"task={cfg.task.name} backbone (backbone.kind={kind}): task={cfg.task.name} needs a backbone "
                        f"of kind {' or '.join(kinds)}; use backbone={' | '.join(fitting)}")


def _backbone_kinds() -> dict[str, str | None]:
    """conf/backbone/<name>.yaml -> its kind (following `defaults:` to the file that sets it)."""
    files = {p.stem: OmegaConf.load(p) for p in sorted((CONF_DIR / "backbone").glob("*.yaml"))}

    def kind_of(name: str, depth: int = 0):
        node = files.get(name)
        if node is None or depth > 5:
            return None
        if "kind" in node:
            return node.kind
        parents = [d for d in node.get("defaults", []) if isinstance(d, str) and d != "_self_"]
        return kind_of(parents[0], depth + 1) if parents else None

    return {name: kind_of(name) for name in files}


def resolve(cfg: DictConfig) -> None:
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None)
        raise UserError(f"config{f' key {key}' if key else ''}: {str(err).splitlines()[0]}; check the overrides "
                        f"(`python -m src.train --cfg job` shows the composed config)") from None


def _int(cfg: DictConfig, key: str, low: int, what: str, allow_none: bool = False) -> None:
    value = OmegaConf.select(cfg, key, default=None)
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{key}={value!r}: must be {what}")


def check_values(cfg: DictConfig) -> None:
    """Keys both tasks read; a key a task does not have is skipped."""
    dataset = cfg.dataset
    for key in ("batch_size", "val_batch_size", "num_frames", "num_temporal_views"):
        if key in dataset:
            _int(cfg, f"dataset.{key}", 1, "a positive integer")
    _int(cfg, "dataset.num_workers", 0, "an integer >= 0 (0 = load in the main process)")
    _int(cfg, "trainer.max_epochs", -1, "an integer (-1 = no limit)", allow_none=True)
    _int(cfg, "trainer.accumulate_grad_batches", 1, "a positive integer")
    _int(cfg, "seed", 0, "an integer >= 0")
    check_devices(cfg)
    problem = folder_problem(Path(cfg.run_dir))
    if problem:
        raise UserError(f"run folder {cfg.run_dir} cannot be created ({problem}); point paths.models_dir (task=clip) "
                        f"or paths.report_dir (task=header) at a writable place")


def check_devices(cfg: DictConfig) -> None:
    """GPU ids / counts that this machine does not have: say how many it has."""
    trainer = cfg.trainer
    devices, accelerator = trainer.devices, str(trainer.accelerator)
    name = "gpus" if cfg.get("gpus") is not None else "trainer.devices"
    shown = OmegaConf.to_container(devices) if OmegaConf.is_list(devices) else devices
    if devices in ("auto", -1, "-1"):
        return
    visible = torch.cuda.device_count()
    if OmegaConf.is_list(devices):
        ids = list(devices)
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
            raise UserError(f"{name}={shown}: a list must hold GPU ids (integers >= 0)")
        if accelerator == "cpu":
            raise UserError(f"{name}={shown}: GPU ids with trainer.accelerator=cpu; use trainer.devices={len(ids)} "
                            f"for {len(ids)} CPU processes")
        missing = [i for i in ids if i >= visible]
        if missing:
            raise UserError(f"{name}={shown}: GPU {', '.join(map(str, missing))} not present: {visible} CUDA "
                            f"device(s) visible; use ids below {visible}, or trainer=cpu / trainer=ddp_cpu on CPU")
        return
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise UserError(f"{name}={shown}: must be auto, a positive number of devices or a list of GPU ids")
    if accelerator in ("gpu", "cuda") and devices > visible:
        raise UserError(f"{name}={shown} with trainer.accelerator={accelerator}: {visible} CUDA device(s) visible; "
                        f"ask for at most {visible}, or use trainer=cpu")
