"""Checks on the command line before Hydra composes: an unknown group option is one clear line and exit 2.

(Hydra itself would print a multi-line "Could not find 'method/foo'" error and exit 1.)
"""
import re
from pathlib import Path

from src.core.errors import UserError

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
_GROUP_ARG = re.compile(r"^[+~]*(?P<group>[a-z_]+)=(?P<value>[^()]*)$")  # sweep functions like choice(...) skipped


def check_group_choices(argv: list[str]) -> None:
    for arg in argv:
        m = _GROUP_ARG.match(arg)
        if not m or not (CONF_DIR / m["group"]).is_dir():
            continue
        group = m["group"]
        known = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        for value in m["value"].split(","):
            if value and value != "null" and value not in known:
                raise UserError(
                    f"unknown {group} '{value}' ({arg}); choose one of: {', '.join(known)} "
                    f"(or add conf/{group}/{value}.yaml)"
                )
