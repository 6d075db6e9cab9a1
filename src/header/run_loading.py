"""Rebuild a finished task=header run for evaluation / inference (src.evaluate, src.predict, src.detect).

    run = load_header_run("csn-full-f16-s0-20261130-101500", Path("report/header_experiments"))
    run.net           # HeaderNet in eval mode with the best epoch's weights
    run.config        # the sections of the run's config.yaml it is rebuilt from (RUN_SECTIONS)
    run.threshold     # the F1-optimal header-probability threshold chosen on validation (best_metrics.json)
    run.checkpoint    # checkpoints/best_epoch_<N>.pt it came from
    run.clip_settings # how its training clips were cut from footage (clip_settings.json), or None

A run folder holds config.yaml, best_metrics.json and checkpoints/best_epoch_<N>.pt (src/header/artifacts.py),
and clip_settings.json when its clips were made from footage.
This file is the one place that knows how a HeaderNet is rebuilt from a run's files. config.yaml is data
(src/core/run_config.py): only RUN_SECTIONS are read from it, nothing in them is instantiated or resolved.
"""
import json
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from src.core.checkpoint_io import load_weights_only
from src.core.errors import UserError
from src.core.export_folder import ExportTarget
from src.core.run_config import read_run_config
from src.core.run_folder import find_run_folder
from src.header.artifacts import CHECKPOINT_FORMAT
from src.header.footage.clip_settings import read_clip_settings
from src.header.models.net import HeaderNet, build_header_net

# What evaluate / predict / detect read from config.yaml: the only sections read, each plain data. `finetune` and
# `seed`: the model card (src/header/run_facts.py, refreshed by src.evaluate) names the method and seed by them.
RUN_SECTIONS = ("backbone", "dataset", "finetune", "loss", "task", "seed")


class HeaderRun(NamedTuple):
    net: HeaderNet
    config: dict
    threshold: float
    checkpoint: Path
    clip_settings: dict | None


def resolve_header_run_dir(spec: str, report_dir: Path) -> Path:
    """A run name under `report_dir`, or a run folder path -> the run folder (best_metrics.json inside)."""
    return find_run_folder(spec, report_dir, ("config.yaml", "best_metrics.json"), "task=header", "the name")


RUN_KEYS = ("backbone.kind", "backbone.mean", "backbone.std", "dataset.num_frames", "dataset.input_size")


def read_header_config(run_dir: Path) -> dict:
    """config.yaml -> RUN_SECTIONS as plain data (src/core/run_config.py), holding every key a HeaderNet is
    rebuilt from."""
    path = Path(run_dir) / "config.yaml"
    config = read_run_config(path, RUN_SECTIONS, "task=header")
    missing = [key for key in RUN_KEYS if not _has(config, key)]
    if missing:
        raise UserError(f"{path}: not a task=header run config (no {', '.join(missing)}); the run folder is damaged, "
                        "train the run again")
    return config


def _has(config, key: str) -> bool:
    section, name = key.split(".")
    return isinstance(config, dict) and isinstance(config.get(section), dict) and name in config[section]


def read_best_metrics(run_dir: Path) -> dict:
    path = Path(run_dir) / "best_metrics.json"
    try:
        best = json.loads(path.read_text())
        checkpoint, threshold = best["checkpoint"], best["best_threshold"]["threshold"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise UserError(f"{path}: unreadable or incomplete ({type(err).__name__}: {err}); the run folder is "
                        "damaged, train the run again") from err
    # The weights this run names are its own: a path inside checkpoints/, never one that leaves the run folder.
    parts = PurePosixPath(checkpoint).parts if isinstance(checkpoint, str) else ()
    if len(parts) != 2 or parts[0] != "checkpoints" or "\\" in checkpoint or parts[1] in (".", ".."):
        raise UserError(f"{path}: checkpoint={checkpoint!r} is not checkpoints/<file> inside the run folder; the "
                        "run folder is damaged, train the run again")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise UserError(f"{path}: best_threshold.threshold={threshold!r} is not a number; the run folder is damaged, "
                        "train the run again")
    return best


def read_header_checkpoint(path: Path) -> dict:
    """checkpoints/best_epoch_<N>.pt -> {"format", "epoch", "state_dict", "metrics", "config"} (weights_only)."""
    payload = load_weights_only(path, if_missing="the checkpoint best_metrics.json points at is missing; train "
                                "the run again or pick another run")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or "state_dict" not in payload:
        raise UserError(f"{path}: not a Header Net checkpoint of this project (format {CHECKPOINT_FORMAT})")
    return payload


def architecture_only(backbone: dict) -> dict:
    """The backbone section without pretrained weights where the architecture does not need them: the run's
    checkpoint holds every weight, so the pretrained file need not exist on this machine (VideoMAE with
    variant=auto still reads its checkpoint's config for the architecture)."""
    if backbone["kind"] == "vmae" and backbone.get("variant") == "auto":
        return dict(backbone)
    return {**backbone, "ckpt": None}


def load_header_run(spec: str, report_dir: Path) -> HeaderRun:
    """Rebuild run `spec` (a name under `report_dir` or a folder) in eval mode with its best weights."""
    run_dir = resolve_header_run_dir(spec, report_dir)
    config = read_header_config(run_dir)
    best = read_best_metrics(run_dir)
    checkpoint = run_dir / best["checkpoint"]
    payload = read_header_checkpoint(checkpoint)
    dataset = config["dataset"]
    net = build_header_net(architecture_only(config["backbone"]), num_frames=dataset["num_frames"],
                           input_size=dataset["input_size"])
    try:
        net.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise UserError(f"{checkpoint}: does not fit the backbone in {run_dir / 'config.yaml'} "
                        f"({str(err).splitlines()[0]}); the run folder is inconsistent, train it again") from err
    return HeaderRun(net.eval(), config, float(best["best_threshold"]["threshold"]), checkpoint,
                     read_clip_settings(run_dir))


def header_export_target(run_dir: Path) -> ExportTarget:
    """What an export must have been made from to replace this run's HeaderNet (engine=onnxruntime): its best
    weights, and clips of (3, num_frames, input_size, input_size)."""
    data = read_header_config(run_dir)["dataset"]
    frames, size = int(data["num_frames"]), int(data["input_size"])
    return ExportTarget(task="header", run_dir=Path(run_dir), checkpoint=Path(run_dir) /
                        read_best_metrics(run_dir)["checkpoint"], num_frames=frames, input_shape=(3, frames, size, size))
