"""The defaults of an argparse tool, read from `conf/<name>.yaml` as plain data (never instantiated), for
`parser.set_defaults(**tool_defaults("resize_videos"))`: the config holds every default, the tool none of its own."""
from omegaconf import OmegaConf

from src.core.cli_checks import CONF_DIR


def tool_defaults(name: str) -> dict:
    """conf/<name>.yaml as a dict of plain values (interpolations resolved)."""
    return OmegaConf.to_container(OmegaConf.load(CONF_DIR / f"{name}.yaml"), resolve=True)
