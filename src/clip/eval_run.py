"""task=clip evaluation from the command line: which model, which protocol, where the results go.

- `run=…`: the run's config.json is the protocol; command-line `dataset.*` keys change it (views, frames, split,
  k_val, batch size, root). `dataset=<other>` evaluates on another dataset with ITS class names (the run's
  frames and views are kept unless given too). Results: `<run folder>/eval/`.
- `run` unset and `method=zero_shot`: the composed config is the protocol. Results: `zero_shot_dir/eval/`.
- `protocol=…` (conf/protocol/): one pass (standard), or several with a mean ± std summary (zero_shot_k600's class
  lists, zero_shot_splits' official splits): src/clip/split_protocol.py.
"""
import copy
import logging
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from src.clip.data.datamodule import VideoDataModule
from src.clip.data.frame_source import LOADING_KEYS
from src.clip.models.backbone import require_clip_backbone
from src.clip.module import ClipVideoModule
from src.clip.run_loading import load_clip_run, read_checkpoint, read_run_config, resolve_run_dir
from src.clip.split_protocol import evaluate_protocol
from src.core.errors import UserError
from src.core.overrides import apply_section_overrides, override_keys

log = logging.getLogger(__name__)

# Kept from the trained run on another dataset unless the command line sets them: they define the protocol.
PROTOCOL_KEYS = ("num_frames", "num_temporal_views", "num_spatial_views", "frame_interval")


def protocol_dataset(run_dataset: dict, composed_dataset: dict, keys: list[str]) -> dict:
    """The dataset section to evaluate on: the run's (or the `dataset=` group's) + the command line's keys."""
    if "dataset" in keys:  # another dataset: its own section, the run's frames and views
        dataset = copy.deepcopy(composed_dataset)
        for key in PROTOCOL_KEYS:
            if f"dataset.{key}" not in keys:
                dataset[key] = run_dataset[key]
        return dataset
    return apply_section_overrides(run_dataset, composed_dataset, "dataset", keys)


def evaluate(cfg: DictConfig, overrides: list[str]) -> dict:
    config = OmegaConf.to_container(cfg, resolve=True)
    if config["run"] is None:
        if config["method"]["name"] != "zero_shot":
            raise UserError("run= is missing: give run=<method>/<dataset>/<run_id> (a folder under "
                            f"{config['paths']['models_dir']}) or a run folder path, or evaluate method=zero_shot")
        return _evaluate_zero_shot(config)
    return _evaluate_run(config, override_keys(overrides))


def _evaluate_run(config: dict, keys: list[str]) -> dict:
    models_dir = Path(config["paths"]["models_dir"])
    run_dir = resolve_run_dir(config["run"], models_dir)
    trained_names = list(read_checkpoint(run_dir / "checkpoint.pth")["meta"]["class_names"])  # checked first
    run_config = read_run_config(run_dir)
    dataset = protocol_dataset(run_config["dataset"], config["dataset"], keys)
    # How frames are read (the frame store, decoder-side resize) is this command's, as the Trainer is: a run's
    # own settings may point at another machine's store, and runs from before these keys have none.
    dataset.update({key: config["dataset"][key] for key in LOADING_KEYS})
    # A run trained before dataset.index_cache existed does not record it: this command's value applies.
    dataset.setdefault("index_cache", config["dataset"]["index_cache"])

    def datamodule_for(pass_dataset: dict) -> VideoDataModule:
        return VideoDataModule(dataset=pass_dataset, backbone=run_config["backbone"], seed=run_config["seed"],
                               cache_dir=Path(config["paths"]["cache_dir"]))

    def model_for(datamodule: VideoDataModule) -> tuple[ClipVideoModule, dict, Path]:
        cross = datamodule.class_names != trained_names
        run = load_clip_run(str(run_dir), models_dir, overrides={"dataset": datamodule.dataset_cfg},
                            class_names=datamodule.class_names if cross else None)
        if cross:
            log.info("cross-dataset: %s trained on %s, scored with the %d class names of %s", run_dir,
                     run_config["dataset"]["name"], len(datamodule.class_names), datamodule.dataset_cfg["name"])
        # The Trainer of the pass is the command line's (conf/trainer): nothing from the run folder is instantiated.
        return run.module, {**run.config, "trainer": config["trainer"]}, run.checkpoint

    return evaluate_protocol(config, dataset, datamodule_for, model_for, run_dir / "eval", run_dir=run_dir)


def _evaluate_zero_shot(config: dict) -> dict:
    require_clip_backbone(config["backbone"])

    def datamodule_for(pass_dataset: dict) -> VideoDataModule:
        return VideoDataModule(dataset=pass_dataset, backbone=config["backbone"], seed=config["seed"],
                               cache_dir=Path(config["paths"]["cache_dir"]))

    def model_for(datamodule: VideoDataModule) -> tuple[ClipVideoModule, dict, None]:
        pass_config = {**config, "dataset": datamodule.dataset_cfg}
        pl.seed_everything(config["seed"], workers=True)  # a random-init backbone (clip_tiny) is then reproducible
        return ClipVideoModule.from_config(pass_config, datamodule.class_names).eval(), pass_config, None

    return evaluate_protocol(config, config["dataset"], datamodule_for, model_for,
                             Path(config["zero_shot_dir"]) / "eval", run_dir=None,
                             extra={"templates": list(config["method"]["templates"])})
