"""Checks of the composed config before anything is built or written: one `error:` line naming the key.

- `check_backbone_kind` runs before interpolations are resolved (a CSN key read by a CLIP config would otherwise
  be an InterpolationKeyError traceback);
- `resolve` resolves the config, turning OmegaConf's errors into one line;
- `check_values` checks a training run's values (the table in src/core/value_checks.py), its devices and that
  its run folder can be created.
"""
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError
from src.core.override_checks import folder_problem
from src.core.value_checks import check_table


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
        raise config_error(err, _unresolvable_key(cfg)) from None


def config_error(err: OmegaConfBaseException, key: str | None = None) -> UserError:
    """An OmegaConf error (an interpolation that cannot resolve, a missing value) as one line naming the key."""
    key = key or getattr(err, "full_key", None)
    return UserError(f"config{f' key {key}' if key else ''}: {str(err).splitlines()[0]}; check the overrides "
                     f"(`--cfg job` shows the composed config)")


def _unresolvable_key(cfg: DictConfig) -> str | None:
    """The key whose own interpolation fails (OmegaConf.resolve does not say): of the keys that fail, the first
    whose value does not refer to another failing key."""
    failing = {}
    for key, raw in _interpolations(OmegaConf.to_container(cfg, resolve=False)):
        try:
            OmegaConf.select(cfg, key, throw_on_missing=True)
        except OmegaConfBaseException:
            failing[key] = raw
    return next((key for key, raw in failing.items() if not any("${" + other in raw for other in failing)), None)


def _interpolations(node, prefix: str = ""):
    """(dotted key, raw text) of every value that holds an interpolation."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        path = f"{prefix}{key}"
        if isinstance(value, str) and "${" in value:
            yield path, value
        else:
            yield from _interpolations(value, path + ".")


def check_values(cfg: DictConfig) -> None:
    """A training run's resolved config: the value table, the devices, the run folder."""
    check_table(cfg, "train")
    check_devices(cfg)
    check_run_folder(cfg)


def check_run_folder(cfg: DictConfig) -> None:
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
