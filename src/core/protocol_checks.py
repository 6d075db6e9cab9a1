"""Before Hydra starts a sweep: a protocol experiment (one that tabulates mean ± std over seeds: its config sets
hydra.callbacks.seed_table) must sweep `seed`, or every job would run before the table finds nothing to average."""
import re

from omegaconf import OmegaConf

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError

_MULTIRUN_FLAGS = ("-m", "--multirun")
_SEED_SWEEP = re.compile(r"^seed=(.+,.+|range\(.+\)|choice\(.+\))$")


def check_seed_sweep(argv: list[str]) -> None:
    if not any(arg in _MULTIRUN_FLAGS for arg in argv):
        return
    for arg in argv:
        if not arg.startswith("experiment="):
            continue
        name = arg.split("=", 1)[1]
        path = CONF_DIR / "experiment" / f"{name}.yaml"
        if not path.is_file() or OmegaConf.select(OmegaConf.load(path), "hydra.callbacks.seed_table") is None:
            continue
        if not any(_SEED_SWEEP.match(a) for a in argv):
            raise UserError(f"experiment={name} reports mean ± std over seeds: add seeds to the sweep, e.g. "
                            f"`python -m src.train -m experiment={name} … seed=0,1,2`")
