"""A local CLIP weights file -> (its format, an open_clip CLIP state dict), read as data.

Formats (backbone.weights_format; `auto` tells them apart by content, not by name):
  openai     OpenAI's TorchScript archive (a zip with constants.pkl), or a state dict carrying OpenAI's
             input_resolution / context_length / vocab_size entries: QuickGELU
  vifi_clip  ViFi-CLIP's {'model': …, 'config': …} checkpoint ('model' keys `module.image_encoder.…`): QuickGELU
  open_clip  any other state dict (bare, {'state_dict': …}, DDP `module.`, .safetensors): backbone.name decides
"""
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from src.clip.models.weights.openai_archive import is_torchscript_archive, read_torchscript_tensors
from src.clip.models.weights.vifi_checkpoint import is_vifi_checkpoint, vifi_to_open_clip
from src.core.errors import UserError

FORMATS = ("auto", "open_clip", "openai", "vifi_clip")
QUICK_GELU_FORMATS = ("openai", "vifi_clip")     # OpenAI trained CLIP with QuickGELU; ViFi-CLIP fine-tunes it
OPENAI_EXTRAS = ("input_resolution", "context_length", "vocab_size")   # ints in OpenAI's state dicts, not weights


@dataclass
class LocalWeights:
    format: str                      # open_clip | openai | vifi_clip
    state: dict[str, torch.Tensor]   # open_clip CLIP keys


def _torch_load(path: Path):
    # weights_only=True allows tensors and containers. ViFi-CLIP pickles its yacs CfgNode (a dict subclass) into
    # the checkpoint: that one name is read back as an OrderedDict (torch's unpickler fills only its own mapping
    # types), so yacs is never imported and no class of the file's choosing is built.
    try:
        with torch.serialization.safe_globals([(OrderedDict, "yacs.config.CfgNode")]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:   # a pickled object other than tensors, or not a torch file at all
        raise UserError(f"{path}: not a weights-only state-dict checkpoint ({type(err).__name__}); save model.state_dict() "
                        "with torch.save (for a ViFi-CLIP file: torch.save(ckpt['model'], path) where it was "
                        "trained), or use an open_clip tag in backbone.pretrained") from err


def _state_dict(payload, path: Path) -> dict[str, torch.Tensor]:
    """A bare state dict or {"state_dict": …}; a DDP "module." prefix is stripped."""
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise UserError(f"{path}: holds a {type(payload).__name__} that is not a state dict of tensors; "
                        "save model.state_dict()")
    if payload and all(key.startswith("module.") for key in payload):
        payload = {key[len("module."):]: value for key, value in payload.items()}
    return payload


def _read(path: Path) -> LocalWeights:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        state = load_file(str(path))
    elif is_torchscript_archive(path):
        state = read_torchscript_tensors(path)
        return LocalWeights("openai", state)
    else:
        payload = _torch_load(path)
        if is_vifi_checkpoint(payload):
            return LocalWeights("vifi_clip", vifi_to_open_clip(payload, str(path)))
        state = _state_dict(payload, path)
    return LocalWeights("openai" if any(key in state for key in OPENAI_EXTRAS) else "open_clip", state)


def read_weights(path: Path, weights_format: str, key: str = "backbone.pretrained") -> LocalWeights:
    """The file's tensors under open_clip's keys, minus OpenAI's metadata ints and causal masks (rebuilt).
    `key`: the config key that named the file, for the error lines."""
    if weights_format not in FORMATS:
        raise UserError(f"backbone.weights_format={weights_format}: use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise UserError(f"{key}: checkpoint file {path} does not exist (or is not a file); put a CLIP weights "
                        f"file there (see the README's backbone section) or set {key} to an open_clip tag")
    weights = _read(path)
    # A state dict cannot say whether it is OpenAI's (QuickGELU) or open_clip's: an explicit format decides that;
    # an archive or a ViFi-CLIP checkpoint is what it is.
    swappable = {weights.format, weights_format} <= {"open_clip", "openai"} and not is_torchscript_archive(path)
    if weights_format != "auto" and weights_format != weights.format:
        if not swappable:
            raise UserError(f"backbone.weights_format={weights_format}, but {path} holds {weights.format} weights; "
                            "set backbone.weights_format=auto")
        weights.format = weights_format
    weights.state = {name: tensor for name, tensor in weights.state.items()
                     if name not in OPENAI_EXTRAS and not name.endswith("attn_mask")}
    return weights
