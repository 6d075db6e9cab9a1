"""VideoMAE v2 backbone: `transformers.VideoMAEModel` built from a config, weights from a local checkpoint.

`backbone.ckpt` is a folder (config.json + model.safetensors / pytorch_model.bin, in transformers format or the
original VideoMAE v2 format, see videomae_convert.py), a weights file inside such a folder, or a bare original
`.pth` (its architecture then comes from `backbone.variant`). null = random init from `backbone.variant`.
The frame count and image size follow the dataset: the position embedding is a fixed sin-cos table, rebuilt for
any (T / tubelet) x (S / patch) token grid, so only those two divisibility rules apply.
`finetune.drop_path_rate` adds stochastic depth (timm's DropPath), which transformers' VideoMAE lacks: see
`add_drop_path`.
"""
import argparse
import json
import logging
from pathlib import Path

import torch
from safetensors.torch import load_file
from timm.layers import DropPath
from torch import nn
from transformers import VideoMAEConfig, VideoMAEModel

from src.core.errors import UserError
from src.header.models.videomae_convert import (
    ORIGINAL_FORMAT_DEFAULTS,
    ConvertedWeights,
    architecture_from_original,
    architecture_from_transformers,
    convert_original_state_dict,
    looks_original,
    normalise_transformers_state_dict,
    place_final_norm,
    summarise_keys,
)

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class VideoMAEBackbone(nn.Module):
    """(B, 3, T, S, S) clips -> (B, N, D) tokens, N = T/tubelet * (S/patch)^2."""

    def __init__(self, config: VideoMAEConfig, *, gradient_checkpointing: bool):
        super().__init__()
        self.model = VideoMAEModel(config)
        self.feature_dim = config.hidden_size
        if gradient_checkpointing:
            self.model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})

    def layer_groups(self) -> list[nn.Module]:
        """Bottom to top: the patch embedding, then each transformer block (partial fine-tuning, layer decay)."""
        return [self.model.embeddings, *self.model.encoder.layer]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 5 and x.shape[1] == 3, f"VideoMAE expects (B, 3, T, S, S) clips, got {tuple(x.shape)}"
        return self.model(pixel_values=x.transpose(1, 2)).last_hidden_state  # input (B, T, 3, S, S) -> (B, N, D)


def add_drop_path(backbone: nn.Module, rate: float) -> None:
    """Stochastic depth as in VideoMAE v2 fine-tuning: timm's DropPath on both residual branches of every block,
    its rate rising linearly from 0 (first block) to `rate` (last). transformers' blocks add the residual
    themselves, so the DropPath follows each branch's last op (its output dropout), before the addition. It has no
    parameters (state dicts unchanged) and is the identity at rate 0 and in eval mode."""
    if not 0.0 <= rate < 1.0:
        raise UserError(f"finetune.drop_path_rate={rate}: must be in [0, 1) (VideoMAE v2 recipes use 0.1-0.3)")
    if rate == 0.0:
        return
    if not isinstance(backbone, VideoMAEBackbone):
        raise UserError(f"finetune.drop_path_rate={rate}: stochastic depth is for VideoMAE (backbone=vmae); "
                        f"set finetune.drop_path_rate=0 for this backbone")
    blocks = backbone.model.encoder.layer
    for block, block_rate in zip(blocks, torch.linspace(0.0, rate, len(blocks), dtype=torch.float64).tolist()):
        for branch in (block.attention.output, block.output):  # attention and MLP branch ends
            assert isinstance(branch.dropout, nn.Dropout), f"unexpected VideoMAE block layout: {type(branch.dropout)}"
            branch.dropout = nn.Sequential(branch.dropout, DropPath(block_rate))


def build_videomae(backbone: dict, *, num_frames: int,
                   image_size: int) -> tuple[VideoMAEBackbone, ConvertedWeights | None]:
    """The backbone with its weights loaded (strict), and what was loaded (for the pooling norm and the log)."""
    if backbone["ckpt"] is None:
        arch, weights = _variant_architecture(backbone, None), None
    else:
        arch, weights = _read_checkpoint(backbone)
    arch["use_mean_pooling"] = _mean_pooling(backbone, arch["use_mean_pooling"])
    pretrained_frames = arch.pop("pretrained_num_frames", None)
    _check_geometry(arch, num_frames=num_frames, image_size=image_size)
    if pretrained_frames and pretrained_frames != num_frames:
        log.warning("VideoMAE checkpoint was pre-trained on %s frames, dataset.num_frames=%d: the sin-cos position "
                    "table is rebuilt for %d", pretrained_frames, num_frames, num_frames)
    config = VideoMAEConfig(**arch, num_frames=num_frames, image_size=image_size,
                            attn_implementation=backbone["attn_implementation"])
    model = VideoMAEBackbone(config, gradient_checkpointing=backbone["gradient_checkpointing"])
    if weights is not None:
        norm_rule = place_final_norm(weights, use_mean_pooling=arch["use_mean_pooling"])
        try:
            model.model.load_state_dict(weights.backbone, strict=True)
        except RuntimeError as err:  # missing / unexpected keys, wrong shapes
            detail = " ".join(str(err).split())[:300]
            raise UserError(f"backbone.ckpt={backbone['ckpt']}: weights do not fit the model ({detail}; "
                            f"{norm_rule})") from err
        log.info("loaded VideoMAE weights from %s: %d tensors; %s; ignored %d: %s", backbone["ckpt"],
                 len(weights.backbone), norm_rule, len(weights.ignored), summarise_keys(weights.ignored))
    return model, weights


def _mean_pooling(backbone: dict, from_checkpoint: bool) -> bool:
    """backbone.use_mean_pooling: auto = what the checkpoint's config says (its format's default when silent),
    else the fine-tuning choice given, as OpenGVLab's run_class_finetuning.py --use_mean_pooling / --use_cls."""
    # A run folder saved before this key existed rebuilds as it trained: what auto does is what every run did then.
    choice = backbone.get("use_mean_pooling", "auto")
    if choice == "auto":
        return bool(from_checkpoint)
    if not isinstance(choice, bool):
        raise UserError(f"backbone.use_mean_pooling={choice}: use auto, true or false")
    return choice


def _variant_architecture(backbone: dict, found_hidden: int | None) -> dict:
    variant, variants = backbone["variant"], backbone["variants"]
    if variant == "auto":
        raise UserError("backbone.variant=auto reads the architecture from backbone.ckpt, which is not set (or has "
                        f"no config.json); set backbone.variant to one of {', '.join(variants)}")
    if variant not in variants:
        raise UserError(f"backbone.variant={variant}: unknown; use auto or one of {', '.join(variants)}")
    arch = {**variants[variant], "tubelet_size": backbone["tubelet_size"],
            "layer_norm_eps": backbone["layer_norm_eps"], "qv_bias": True,
            # no config of its own (random init, a bare .pth): the original format's default, mean pooling
            "use_mean_pooling": ORIGINAL_FORMAT_DEFAULTS["use_mean_pooling"]}
    if found_hidden is not None and found_hidden != arch["hidden_size"]:
        raise UserError(f"backbone.variant={variant} (hidden {arch['hidden_size']}) does not match backbone.ckpt="
                        f"{backbone['ckpt']} (hidden {found_hidden}); use backbone.variant=auto")
    return arch


def _read_checkpoint(backbone: dict) -> tuple[dict, ConvertedWeights]:
    ckpt = Path(backbone["ckpt"])
    if not ckpt.exists():
        raise UserError(f"backbone.ckpt={ckpt}: not found; {backbone['get_it']}")
    folder = ckpt if ckpt.is_dir() else ckpt.parent
    config_file = folder / "config.json"
    found = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    weights_file = ckpt if ckpt.is_file() else (found[0] if found else None)
    if weights_file is None:
        raise UserError(f"backbone.ckpt={ckpt}: no {' or '.join(WEIGHT_FILES)} in the folder; expected a VideoMAE v2 "
                        f"checkpoint folder (transformers format or the original release)")
    state = _load_tensors(weights_file, ckpt)
    if not config_file.is_file():  # a bare original .pth: no config of its own
        if not looks_original(state):
            raise UserError(f"backbone.ckpt={ckpt}: no config.json beside the weights and not an original VideoMAE "
                            f"v2 state dict; pass the checkpoint folder")
        weights = _converted(state, ckpt)
        hidden = weights.backbone["embeddings.patch_embeddings.projection.weight"].shape[0]
        return _variant_architecture(backbone, hidden), weights
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{config_file}: not valid JSON ({err})") from err
    if isinstance(config.get("model_config"), dict):
        arch = architecture_from_original(config["model_config"], str(config_file))
        weights = _converted(state, ckpt)
    elif config.get("model_type") == "videomae" or "hidden_size" in config:
        arch, weights = architecture_from_transformers(config), normalise_transformers_state_dict(state)
    else:
        raise UserError(f"backbone.ckpt={ckpt}: config.json is in no known format (neither transformers' VideoMAE "
                        f"with model_type/hidden_size nor the original VideoMAE v2 with model_config)")
    if backbone["variant"] != "auto":
        _variant_architecture(backbone, arch["hidden_size"])  # only checks that the two agree
    return arch, weights


def _converted(state: dict[str, torch.Tensor], ckpt: Path) -> ConvertedWeights:
    try:
        return convert_original_state_dict(state)
    except UserError as err:
        raise UserError(f"backbone.ckpt={ckpt}: {err}") from None


def _load_tensors(weights_file: Path, ckpt: Path) -> dict[str, torch.Tensor]:
    try:
        if weights_file.suffix == ".safetensors":
            return load_file(str(weights_file))
        # The original training checkpoints also hold `args`, an argparse.Namespace: allowed, nothing else is.
        with torch.serialization.safe_globals([argparse.Namespace]):
            payload = torch.load(weights_file, map_location="cpu", weights_only=True)
    except Exception as err:  # safetensors / torch raise many kinds for a damaged or foreign file
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise UserError(f"backbone.ckpt={ckpt}: cannot read {weights_file} ({reason}); is the download "
                        f"complete?") from None
    for wrapper in ("module", "model", "state_dict"):  # the original release wraps its .pth in {"module": …}
        if isinstance(payload, dict) and isinstance(payload.get(wrapper), dict):
            payload = payload[wrapper]
    if not isinstance(payload, dict):
        raise UserError(f"backbone.ckpt={ckpt}: {weights_file.name} holds a {type(payload).__name__}, "
                        f"not a state dict")
    return {k.replace("_orig_mod.", ""): v for k, v in payload.items() if isinstance(v, torch.Tensor)}


def _check_geometry(arch: dict, *, num_frames: int, image_size: int) -> None:
    tubelet, patch = arch["tubelet_size"], arch["patch_size"]
    if num_frames % tubelet:
        raise UserError(f"dataset.num_frames={num_frames} is not a multiple of the VideoMAE tubelet size {tubelet}; "
                        f"use e.g. dataset.num_frames={max(tubelet, num_frames - num_frames % tubelet)}")
    if image_size % patch:
        raise UserError(f"dataset.input_size={image_size} is not a multiple of the VideoMAE patch size {patch}; "
                        f"use e.g. dataset.input_size={max(patch, image_size - image_size % patch)}")
