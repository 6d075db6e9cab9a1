"""open_clip hub tags (backbone.pretrained=openai, laion2b_s34b_b88k …) that fail in seconds without network.

Left to itself, open_clip asks huggingface_hub for two file names (.safetensors, then .bin) and each request is
retried 5 times with back-off (1+2+4+8+8 s): about a minute before it gives up, even with nothing to fetch. So: the
hub cache is checked first and a cached file is loaded as a file (no request at all); otherwise HF_HUB_OFFLINE is
honoured and a short TCP probe of the hub's host decides, before open_clip downloads.
"""
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import open_clip
from huggingface_hub import constants as hub_constants
from huggingface_hub import try_to_load_from_cache
from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

from src.core.errors import UserError


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder, from the environment as it is now (its constants are fixed at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    default_home = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    return Path(os.environ.get("HF_HOME", default_home)).expanduser() / "hub"


def _candidates(cfg: dict) -> tuple[str, list[str]]:
    """(hub repo id, file names open_clip tries, in its order) for a tag's pretrained config."""
    model_id, filename = os.path.split(cfg["hf_hub"])
    filename = filename or HF_WEIGHTS_NAME
    if filename == HF_WEIGHTS_NAME:
        return model_id, [HF_SAFE_WEIGHTS_NAME, filename]
    if filename.endswith((".bin", ".pth")):
        return model_id, [filename[:-4] + ".safetensors", filename]
    return model_id, [filename]


def cached_file(cfg: dict) -> Path | None:
    if cfg.get("hf_hub"):
        model_id, names = _candidates(cfg)
        for name in names:
            found = try_to_load_from_cache(model_id, name, cache_dir=hub_cache_dir())
            if isinstance(found, str):
                return Path(found)
        return None
    url_file = Path("~/.cache/clip").expanduser() / os.path.basename(cfg.get("url", ""))   # open_clip's URL cache
    return url_file if url_file.is_file() else None


def _unreachable(url: str, timeout_s: float) -> str | None:
    """Why `url`'s host cannot be reached now (None: it answers a TCP connect within timeout_s)."""
    if _env_true("HF_HUB_OFFLINE") or hub_constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "", parsed.port or 443), timeout=timeout_s).close()
    except OSError as err:
        return f"{parsed.hostname} is unreachable ({err})"
    return None


def _offline_error(name: str, tag: str, cfg: dict, why: str, key: str) -> UserError:
    if cfg.get("hf_hub"):
        model_id, names = _candidates(cfg)
        file, get = names[0], f"hf download {model_id} {names[0]} --local-dir <dir>"
    else:
        file, get = os.path.basename(cfg["url"]), f"curl -LO {cfg['url']}"
    quick = " backbone.weights_format=openai" if cfg.get("quick_gelu") else ""   # a state dict cannot say so
    archive = f" (or OpenAI's own archive {cfg['url']})" if "openaipublic" in cfg.get("url", "") else ""
    return UserError(f"{key}={tag}: {name} weights are not in the hub cache ({hub_cache_dir()}) and {why}; point "
                     f"{key} at a local file instead: on a machine with network run `{get}`, copy the file here, "
                     f"then {key}=<dir>/{file}{quick}{archive}")


def check_tag(name: str, tag: str, timeout_s: float, key: str = "backbone.pretrained") -> dict:
    """The tag's open_clip pretrained config, if its weights are cached or the hub answers; else one UserError."""
    tags = open_clip.list_pretrained_tags_by_model(name)
    if tag not in tags:
        raise UserError(f"{key}: '{tag}' is not an open_clip tag of {name} (known: {tags}) nor a checkpoint file "
                        "path; fix the tag or give a path ending in .pt/.pth/.bin/.safetensors")
    cfg = open_clip.get_pretrained_cfg(name, tag)
    if cached_file(cfg) is None:
        url = os.environ.get("HF_ENDPOINT", hub_constants.ENDPOINT) if cfg.get("hf_hub") else cfg["url"]
        if why := _unreachable(url, timeout_s):
            raise _offline_error(name, tag, cfg, why, key)
    return cfg


def load_tag(name: str, tag: str, timeout_s: float, key: str = "backbone.pretrained") -> open_clip.model.CLIP:
    cfg = check_tag(name, tag, timeout_s, key)
    # open_clip only warns when the tag's activation differs from the config's (OpenAI's weights need QuickGELU).
    quick_gelu = bool(cfg.get("quick_gelu", False))
    cached = cached_file(cfg)
    try:
        if cached is not None:   # a file: open_clip reads it without asking the hub whether it changed
            return open_clip.create_model(name, pretrained=str(cached), force_quick_gelu=quick_gelu)
        return open_clip.create_model(name, pretrained=tag, force_quick_gelu=quick_gelu,
                                      cache_dir=str(hub_cache_dir()) if cfg.get("hf_hub") else None)
    except Exception as err:      # a download cut off halfway: one clear line instead of a hub traceback
        raise UserError(f"{key}: could not load open_clip weights {name}/{tag} ({type(err).__name__}: "
                        f"{str(err)[:200]}); point {key} at a local file (see the README's backbone section)") from err
