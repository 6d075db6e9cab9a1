"""The defaults of the footage clips (conf/header_clips.yaml): read as plain data by `make_header_clips` (its option
defaults) and by `src.detect` (the crop of a run whose clips did not record theirs)."""
from omegaconf import OmegaConf

from src.core.cli_checks import CONF_DIR

CLIP_DEFAULTS_FILE = CONF_DIR / "header_clips.yaml"


def clip_defaults() -> dict:
    return OmegaConf.to_container(OmegaConf.load(CLIP_DEFAULTS_FILE))
