"""Load a frozen open_clip CLIP + its tokenizer from the `backbone` config section.

`backbone.pretrained` is an open_clip tag (e.g. `openai`: the hub cache, or network once), a local weights file
(open_clip / OpenAI state dict .pt/.pth/.bin, .safetensors, OpenAI's TorchScript .pt archive, a ViFi-CLIP
checkpoint: src/clip/models/weights/files.py says how each is told apart), or null (random init, seeded by the
caller: clip_tiny). `backbone.model_cfg` (a dict of open_clip.model.CLIP arguments) replaces open_clip's
registered config. `check_pretrained` runs the same checks before a run folder exists (src/clip/task.py).
"""
import logging
from collections.abc import Callable
from pathlib import Path

import open_clip
import torch

from src.clip.models.weights.files import QUICK_GELU_FORMATS, LocalWeights, read_weights
from src.clip.models.weights.hub import check_tag, load_tag
from src.core.errors import UserError
from src.core.tool_defaults import tool_defaults

log = logging.getLogger(__name__)

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")
_TOKEN_EMBEDDING = "token_embedding.weight"


def _looks_like_file(pretrained) -> bool:
    text = str(pretrained)
    return (text.lower().endswith(_CHECKPOINT_SUFFIXES) or "/" in text or "\\" in text
            or Path(text).expanduser().is_file())


def _settings(backbone: dict) -> tuple[str, str | None, float]:
    # A run folder saved before these keys existed lacks them: conf/backbone/clip_b16.yaml's values (the file every
    # CLIP backbone composes over) fill in, so the defaults live in conf/ only.
    settings = {**tool_defaults("backbone/clip_b16"), **backbone}
    return settings["weights_format"], settings["vifi_token_embedding"], float(settings["hub_timeout_s"])


def _architecture_cfg(name: str, model_cfg: dict | None, quick_gelu: bool) -> dict:
    cfg = model_cfg if model_cfg is not None else open_clip.get_model_config(name)
    if cfg is None:
        raise UserError(f"backbone.name: '{name}' is not an open_clip model; use one of open_clip.list_models() "
                        "(e.g. ViT-B-16) or give backbone.model_cfg")
    return {**cfg, "quick_gelu": bool(cfg.get("quick_gelu", False) or quick_gelu)}


def _build_architecture(name: str, model_cfg: dict | None, quick_gelu: bool = False) -> open_clip.model.CLIP:
    """Random-init CLIP: from `model_cfg` when given, else open_clip's registered config for `name`."""
    cfg = _architecture_cfg(name, model_cfg, quick_gelu)
    if model_cfg is not None:
        return open_clip.model.CLIP(**cfg)
    return open_clip.create_model(name, pretrained=None, force_quick_gelu=cfg["quick_gelu"])


def _expected_shapes(name: str, model_cfg: dict | None) -> dict[str, torch.Size] | None:
    """The architecture's state-dict shapes, built on the meta device (no memory, no init); None for open_clip
    configs that are not a plain CLIP (custom text towers), which load_clip checks when it builds them."""
    cfg = _architecture_cfg(name, model_cfg, quick_gelu=False)
    if cfg.get("custom_text") or "hf_model_name" in cfg["text_cfg"] or "timm_model_name" in cfg["vision_cfg"]:
        return None
    with torch.device("meta"):
        model = open_clip.model.CLIP(**{key: value for key, value in cfg.items() if key != "custom_text"})
    return {key: value.shape for key, value in model.state_dict().items()}


def _check_fits(expected: dict[str, torch.Size], weights: LocalWeights, path: Path, name: str) -> None:
    optional = {_TOKEN_EMBEDDING} if weights.format == "vifi_clip" else set()   # filled by _vifi_token_embedding
    missing = sorted(set(expected) - set(weights.state) - optional)
    unexpected = sorted(set(weights.state) - set(expected))
    wrong = sorted(key for key in set(expected) & set(weights.state) if weights.state[key].shape != expected[key])
    if missing or unexpected or wrong:
        raise UserError(f"{path}: a {weights.format} file that does not match the '{name}' architecture (missing "
                        f"{missing[:3]}, unexpected {unexpected[:3]}, other shapes {wrong[:3]}); use the checkpoint "
                        f"of backbone.name={name} or set backbone.name / model_cfg to the file's architecture")


def _vifi_token_embedding(backbone: dict, check_only: bool = False) -> dict[str, torch.Tensor]:
    """ViFi-CLIP saves no token embedding (it never trains it): OpenAI's, from backbone.vifi_token_embedding."""
    _, source, timeout_s = _settings(backbone)
    key = "backbone.vifi_token_embedding"
    if source is None:
        log.warning("%s is null: the token embedding a ViFi-CLIP checkpoint lacks stays random (seeded)", key)
        return {}
    if not _looks_like_file(source):
        if check_only:
            check_tag(backbone["name"], str(source), timeout_s, key)
            return {}
        state = load_tag(backbone["name"], str(source), timeout_s, key).state_dict()
    else:
        state = read_weights(Path(str(source)).expanduser(), "auto", key).state
    if _TOKEN_EMBEDDING not in state:
        raise UserError(f"{key}={source}: holds no {_TOKEN_EMBEDDING}; give OpenAI's CLIP weights of backbone.name")
    return {_TOKEN_EMBEDDING: state[_TOKEN_EMBEDDING]}


def _load_local(backbone: dict, path: Path) -> open_clip.model.CLIP:
    name, model_cfg = backbone["name"], backbone["model_cfg"]
    weights = read_weights(path, _settings(backbone)[0])
    model = _build_architecture(name, model_cfg, quick_gelu=weights.format in QUICK_GELU_FORMATS)
    _check_fits({key: value.shape for key, value in model.state_dict().items()}, weights, path, name)
    if weights.format == "vifi_clip":
        weights.state.update(_vifi_token_embedding(backbone))
    model.load_state_dict(weights.state, strict=_TOKEN_EMBEDDING in weights.state)
    log.info("backbone.pretrained: %s (%s weights, %d tensors)", path, weights.format, len(weights.state))
    return model


def _refuse_tag_with_model_cfg(backbone: dict) -> None:
    if backbone["model_cfg"] is not None:
        raise UserError(f"backbone.pretrained: tag '{backbone['pretrained']}' cannot load a custom backbone.model_cfg; "
                        "set backbone.pretrained to null (random init) or a local checkpoint file")


def check_pretrained(backbone: dict) -> None:
    """What load_clip would refuse about backbone.pretrained, found without building the model (before any
    folder is written): a missing or unreadable file, a file of another architecture, an unreachable hub tag."""
    pretrained = backbone["pretrained"]
    if pretrained is None:
        return
    if not _looks_like_file(pretrained):
        _refuse_tag_with_model_cfg(backbone)
        check_tag(backbone["name"], str(pretrained), _settings(backbone)[2])
        return
    path = Path(str(pretrained)).expanduser()
    weights = read_weights(path, _settings(backbone)[0])
    expected = _expected_shapes(backbone["name"], backbone["model_cfg"])
    if expected is not None:
        _check_fits(expected, weights, path, backbone["name"])
    if weights.format == "vifi_clip":
        _vifi_token_embedding(backbone, check_only=True)


def _tokenizer(name: str, model_cfg: dict | None) -> Callable:
    if model_cfg is None and name in open_clip.list_models():
        return open_clip.get_tokenizer(name)
    context_length = (model_cfg or {}).get("text_cfg", {}).get("context_length", 77)
    return open_clip.SimpleTokenizer(context_length=context_length)   # open_clip's bundled CLIP BPE


def require_clip_backbone(backbone: dict) -> None:
    if backbone["kind"] != "clip":
        raise UserError(f"backbone.kind={backbone['kind']}: task=clip needs a CLIP backbone "
                        "(backbone=clip_b16 | clip_b32 | clip_tiny | clip_tiny_deep)")


def _load_model(backbone: dict) -> open_clip.model.CLIP:
    name, pretrained, model_cfg = backbone["name"], backbone["pretrained"], backbone["model_cfg"]
    if pretrained is None:
        return _build_architecture(name, model_cfg)
    if _looks_like_file(pretrained):
        return _load_local(backbone, Path(str(pretrained)).expanduser())
    _refuse_tag_with_model_cfg(backbone)
    return load_tag(name, str(pretrained), _settings(backbone)[2])


def load_clip(backbone: dict) -> tuple[open_clip.model.CLIP, Callable]:
    """(frozen CLIP in eval mode, tokenizer) for the `backbone` config section."""
    require_clip_backbone(backbone)
    model = _load_model(backbone)
    name = backbone["name"]
    image_size = tuple(getattr(model.visual, "image_size", (backbone["image_size"],) * 2))
    if image_size != (backbone["image_size"],) * 2:
        raise UserError(f"backbone.image_size: {backbone['image_size']} but {name} takes {image_size} images; "
                        "set backbone.image_size to the model's input size")
    # The data pipeline normalises with these; keep them on the model for anyone reading it (open_clip does too).
    model.visual.image_mean = tuple(backbone["mean"])
    model.visual.image_std = tuple(backbone["std"])
    for param in model.parameters():
        param.requires_grad_(False)
    return model.eval(), _tokenizer(name, model_cfg=backbone["model_cfg"])
