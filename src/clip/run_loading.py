"""Rebuild a finished task=clip run for evaluation / inference (src.evaluate, src.predict).

    run = load_clip_run("video_coop/ucf101/k16-attention-s0-20261130-101500", Path("models"))
    run.module        # ClipVideoModule in eval mode, the best epoch's learned tensors loaded
    run.config        # the sections of the run's config.json it is rebuilt from, with `overrides` merged in
    run.class_names   # the class names (prompt text) the model scores, in logit order
    run.checkpoint    # the checkpoint.pth it came from

A run folder holds config.json + checkpoint.pth (src/clip/artifacts.py). The frozen CLIP is not in the
checkpoint: it is rebuilt from `config["backbone"]` after seeding with the run's seed, so a random-init
backbone (clip_tiny) comes back with the very weights it was trained with. This file is the one place that knows
how a ClipVideoModule is constructed from a run's files. config.json is data (src/core/run_config.py): only
RUN_SECTIONS are read from it, and nothing in them is instantiated; whatever runs the model (the Trainer) comes
from the command line's config.
"""
import logging
from pathlib import Path
from typing import NamedTuple

import pytorch_lightning as pl
from omegaconf import OmegaConf

from src.clip.artifacts import CHECKPOINT_FORMAT
from src.clip.models.classifier import ClipVideoClassifier
from src.clip.models.layers.pooling import AttentionPooling
from src.clip.models.methods.vita import ViTa
from src.clip.module import ClipVideoModule
from src.core.checkpoint_io import load_weights_only
from src.core.errors import UserError
from src.core.export_folder import ExportTarget
from src.core.run_config import plain_sections
from src.core.run_config import read_run_config as read_plain_config
from src.core.run_folder import find_run_folder

log = logging.getLogger(__name__)

# What is read from config.json to rebuild the model and its data: the only sections read, each plain data.
RUN_SECTIONS = ("method", "backbone", "dataset", "task", "seed")


class ClipRun(NamedTuple):
    module: ClipVideoModule
    config: dict
    class_names: list[str]
    checkpoint: Path


def resolve_run_dir(spec: str, models_dir: Path) -> Path:
    """"method/dataset/run_id" under `models_dir`, or a run folder path -> the run folder (config.json inside)."""
    return find_run_folder(spec, models_dir, ("config.json",), "task=clip", "'method/dataset/run_id'")


def read_run_config(run_dir: Path) -> dict:
    """RUN_SECTIONS of the run's config.json, checked to be plain data (never a `_target_` or an `${…}`)."""
    return read_plain_config(Path(run_dir) / "config.json", RUN_SECTIONS, "task=clip")


def read_checkpoint(path: Path) -> dict:
    """checkpoint.pth -> {"format", "state_dict", "meta"} (weights_only: never runs code)."""
    payload = load_weights_only(path, if_missing="no checkpoint; the run has not finished an epoch with "
                                "validation — train it (again) or pick another run")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or "state_dict" not in payload:
        raise UserError(f"{path}: not a checkpoint.pth of this project (format {CHECKPOINT_FORMAT}); pick a run "
                        "folder written by python -m src.train")
    meta = payload.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("class_names"), list):
        raise UserError(f"{path}: no class names in its meta block; the run folder is damaged, train the run again")
    return payload


def load_clip_run(spec: str, models_dir: Path, overrides: dict | None = None,
                  class_names: list[str] | None = None) -> ClipRun:
    """Rebuild run `spec` in eval mode.

    `overrides`: the dataset section's keys merged into the run's (e.g. {"dataset": {"num_frames": 16}}); the
    method and backbone sections define the weights and stay the run's own.
    `class_names`: score these classes instead of the run's (cross-dataset); class-specific learned tensors are
    matched by class name and a class the run never learned is refused (UserError naming it).
    """
    run_dir = resolve_run_dir(spec, models_dir)
    config = read_run_config(run_dir)
    checkpoint = run_dir / "checkpoint.pth"
    payload = read_checkpoint(checkpoint)
    trained_names = list(payload["meta"]["class_names"])
    if overrides:
        assert set(overrides) <= {"dataset"}, f"only the dataset section of a run can be overridden: {sorted(overrides)}"
        config = OmegaConf.to_container(OmegaConf.merge(config, overrides), resolve=True)
    names = list(class_names) if class_names is not None else trained_names
    trained = plain_sections(payload["meta"].get("config"), ("dataset",), f"{checkpoint} (meta.config)", "task=clip")
    trained_frames = trained["dataset"]["num_frames"]
    # The model keeps the frame count it was trained with; the data may sample another where the model allows.
    # An evaluated or predicting module is never optimised: it gets no optimizer / scheduler section to build.
    model_config = {**config, "dataset": {**config["dataset"], "num_frames": trained_frames},
                    "optimizer": None, "scheduler": None}
    pl.seed_everything(config["seed"], workers=True)  # a random-init frozen CLIP comes back identical
    module = ClipVideoModule.from_config(model_config, names)
    if config["dataset"]["num_frames"] != trained_frames and frame_count_fixed(module.model):
        raise UserError(f"dataset.num_frames={config['dataset']['num_frames']}: run {spec} was trained on "
                        f"{trained_frames} frames per view and its {config['method']['name']} model (pooling "
                        f"{config['method']['pooling']}) learned per-frame-position parameters; evaluate with "
                        f"dataset.num_frames={trained_frames}")
    report = module.model.load_learned(payload["state_dict"], trained_names, refuse_unmatched=True)
    for kind, items in report.items():
        if items:
            log.info("%s: %-18s %s", checkpoint, kind, ", ".join(items))
    return ClipRun(module.eval(), config, names, checkpoint)


def frame_count_fixed(model: ClipVideoClassifier) -> bool:
    """True when learned tensors are tied to frame positions (attention pooling, ViTa's frame tokens)."""
    return isinstance(model.pooling, AttentionPooling) or isinstance(model, ViTa)


def clip_export_target(run_dir: Path) -> ExportTarget:
    """What an export must have been made from to replace this run's model (engine=onnxruntime): its
    checkpoint.pth, and videos of (views, num_frames, 3, image_size, image_size) as src.predict samples them."""
    config = read_run_config(run_dir)
    data, size = config["dataset"], int(config["backbone"]["image_size"])
    views, frames = int(data["num_temporal_views"]) * int(data["num_spatial_views"]), int(data["num_frames"])
    return ExportTarget(task="clip", run_dir=Path(run_dir), checkpoint=Path(run_dir) / "checkpoint.pth",
                        num_frames=frames, input_shape=(views, frames, 3, size, size))
