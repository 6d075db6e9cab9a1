"""Load a frozen open_clip CLIP + its tokenizer from the `backbone` config section.

`backbone.pretrained` is an open_clip tag (e.g. `openai`, needs the hub cache), a local checkpoint file
(.pt/.pth/.bin/.safetensors state dict), or null (random init, seeded by the caller: clip_tiny).
`backbone.model_cfg` (a dict of open_clip.model.CLIP arguments) replaces open_clip's registered config.
"""
from collections.abc import Callable
from pathlib import Path

import open_clip
import torch

from src.core.errors import UserError

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


def _looks_like_file(pretrained: str) -> bool:
    return pretrained.lower().endswith(_CHECKPOINT_SUFFIXES) or "/" in pretrained or "\\" in pretrained


def _build_architecture(name: str, model_cfg: dict | None) -> open_clip.model.CLIP:
    """Random-init CLIP: from `model_cfg` when given, else open_clip's registered config for `name`."""
    if model_cfg is not None:
        return open_clip.model.CLIP(**model_cfg)
    if name not in open_clip.list_models():
        raise UserError(f"backbone.name: '{name}' is not an open_clip model; use one of open_clip.list_models() "
                        "(e.g. ViT-B-16) or give backbone.model_cfg")
    return open_clip.create_model(name, pretrained=None)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A bare state dict or {"state_dict": …}; a DDP "module." prefix is stripped."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:   # a TorchScript archive or a pickled object other than tensors
            raise UserError(f"{path}: not a plain state-dict checkpoint ({type(err).__name__}); save "
                            "model.state_dict() with torch.save, or use an open_clip tag in backbone.pretrained") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"{path}: holds a {type(state).__name__}, not a state dict; save model.state_dict()")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _load_local(name: str, model_cfg: dict | None, path: Path) -> open_clip.model.CLIP:
    if not path.is_file():
        raise UserError(f"backbone.pretrained: checkpoint file {path} does not exist (or is not a file); save a CLIP state dict "
                        "there (e.g. torch.save(open_clip.create_model(name, pretrained='openai').state_dict(), "
                        "path) on a machine with network access) or set backbone.pretrained to an open_clip tag")
    model = _build_architecture(name, model_cfg)
    state = _read_state_dict(path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise UserError(f"{path}: does not match the '{name}' architecture (missing {sorted(missing)[:3]}, "
                        f"unexpected {sorted(unexpected)[:3]}); use the checkpoint of backbone.name={name}")
    return model


def _load_tag(name: str, model_cfg: dict | None, tag: str) -> open_clip.model.CLIP:
    if model_cfg is not None:
        raise UserError(f"backbone.pretrained: tag '{tag}' cannot load a custom backbone.model_cfg; set "
                        "backbone.pretrained to null (random init) or a local checkpoint file")
    tags = open_clip.list_pretrained_tags_by_model(name)
    if tag not in tags:
        raise UserError(f"backbone.pretrained: '{tag}' is not an open_clip tag of {name} (known: {tags}) nor a "
                        "checkpoint file path; fix the tag or give a path ending in .pt/.pth/.bin/.safetensors")
    try:
        return open_clip.create_model(name, pretrained=tag)
    except Exception as err:      # no network / no hub cache: one clear line instead of a hub traceback
        raise UserError(f"backbone.pretrained: could not load open_clip weights {name}/{tag} "
                        f"({type(err).__name__}); run once with network access to fill the hub cache, or set "
                        "backbone.pretrained to a local checkpoint file") from err


def _tokenizer(name: str, model_cfg: dict | None) -> Callable:
    if model_cfg is None and name in open_clip.list_models():
        return open_clip.get_tokenizer(name)
    context_length = (model_cfg or {}).get("text_cfg", {}).get("context_length", 77)
    return open_clip.SimpleTokenizer(context_length=context_length)   # open_clip's bundled CLIP BPE


def require_clip_backbone(backbone: dict) -> None:
    if backbone["kind"] != "clip":
        raise UserError(f"backbone.kind={backbone['kind']}: task=clip needs a CLIP backbone "
                        "(backbone=clip_b16 | clip_b32 | clip_tiny | clip_tiny_deep)")


def load_clip(backbone: dict) -> tuple[open_clip.model.CLIP, Callable]:
    """(frozen CLIP in eval mode, tokenizer) for the `backbone` config section."""
    require_clip_backbone(backbone)
    name, pretrained, model_cfg = backbone["name"], backbone["pretrained"], backbone["model_cfg"]
    if pretrained is None:
        model = _build_architecture(name, model_cfg)
    elif _looks_like_file(str(pretrained)) or Path(str(pretrained)).is_file():
        model = _load_local(name, model_cfg, Path(str(pretrained)).expanduser())
    else:
        model = _load_tag(name, model_cfg, str(pretrained))

    image_size = tuple(getattr(model.visual, "image_size", (backbone["image_size"],) * 2))
    if image_size != (backbone["image_size"],) * 2:
        raise UserError(f"backbone.image_size: {backbone['image_size']} but {name} takes {image_size} images; "
                        "set backbone.image_size to the model's input size")
    # The data pipeline normalises with these; keep them on the model for anyone reading it (open_clip does too).
    model.visual.image_mean = tuple(backbone["mean"])
    model.visual.image_std = tuple(backbone["std"])
    for param in model.parameters():
        param.requires_grad_(False)
    return model.eval(), _tokenizer(name, model_cfg)
