"""The one way tests compose the config: conf/train.yaml + overrides through Hydra's compose API, as
`python -m src.train` would (a helper module; tests reach it through the `compose` fixture or, in module-level
builders, directly)."""
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import src.core.run_naming  # noqa: F401  (registers the run_tag resolver the task configs use)

REPO = Path(__file__).resolve().parent.parent


def compose_config(overrides: list[str], out_dir: Path | None = None) -> DictConfig:
    """The resolved config, every output folder under out_dir (default: the system temp folder; nothing is
    created by composing)."""
    out_dir = out_dir or Path(tempfile.gettempdir())
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.root_dir={out_dir}", f"paths.output_dir={out_dir}/out", *overrides])
    OmegaConf.resolve(cfg)
    return cfg


def section(name: str, overrides: list[str]) -> dict:
    """One section (e.g. "method", "backbone") of the composed config, as a plain dict."""
    return OmegaConf.to_container(compose_config(overrides)[name])
