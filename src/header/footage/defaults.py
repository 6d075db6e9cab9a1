"""The defaults of the footage clips (conf/header_clips.yaml): `make_header_clips`' option defaults, and `src.detect`'s
crop for a run whose clips did not record theirs."""
from src.core.tool_defaults import tool_defaults


def clip_defaults() -> dict:
    return tool_defaults("header_clips")
