"""`dataset.feature_cache`: off | auto | write | read.

off   — never.
auto  — read what is cached, compute and write what is missing (the first run pays once).
write — recompute every entry and overwrite.
read  — use the cache as it is; missing entries are an error.
"""
from src.core.errors import UserError

MODES = ("off", "auto", "write", "read")


def parse_mode(value) -> str:
    """The mode named by `dataset.feature_cache`; anything else is a UserError."""
    mode = "off" if value is False else value  # YAML 1.1 reads a bare `off` as false
    if mode not in MODES:
        raise UserError(f"dataset.feature_cache={mode}: choose one of {', '.join(MODES)}")
    return mode
