"""The config groups of conf/ and their choices: checked on the command line before Hydra composes (an unknown
option is one clear line and exit 2; Hydra itself would print a multi-line "Could not find 'method/foo'" error and
exit 1), and listed by --help (`${config_groups:}` in conf/hydra/default.yaml's help template).

A file whose name starts with `_` (conf/method/_base.yaml, conf/method/_text_context.yaml) is an internal base the
other options build on, never a choice: it is neither listed nor accepted.
"""
import re
from pathlib import Path

from omegaconf import OmegaConf

from src.core.errors import UserError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
_GROUP_ARG = re.compile(r"^[+~]*(?P<group>[a-z_]+)=(?P<value>[^()]*)$")  # sweep functions like choice(...) skipped


def check_group_choices(argv: list[str]) -> None:
    for arg in argv:
        m = _GROUP_ARG.match(arg)
        if not m or not (CONF_DIR / m["group"]).is_dir():
            continue
        group = m["group"]
        known = group_choices(group)
        for value in m["value"].split(","):
            if value and value != "null" and value not in known:
                hint = ("an internal base, not a choice" if value.startswith("_")
                        else f"or add conf/{group}/{value}.yaml")
                raise UserError(f"unknown {group} '{value}' ({arg}); choose one of: {', '.join(known)} ({hint})")


def group_choices(group: str) -> list[str]:
    """The options of conf/<group>/ a user may pick (not the `_`-prefixed internal bases)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


def config_groups() -> str:
    """One line per group of conf/ (Hydra's own `hydra` group aside): `method: dual_coop, stt, …`."""
    groups = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "hydra")
    return "\n".join(f"{group}: {', '.join(group_choices(group))}" for group in groups)


if not OmegaConf.has_resolver("config_groups"):  # every entry point imports this module before Hydra composes
    OmegaConf.register_new_resolver("config_groups", config_groups)
