"""A run folder's config (config.json / config.yaml) read back as plain data, never as code.

A run folder is something a user may be handed. Whatever is in it is data: Hydra's `instantiate` on a `_target_`
from it would import and call anything, and OmegaConf would run resolvers of an `${…}` interpolation (read the
environment, call registered functions). So the file is read with the plain JSON / safe YAML readers, only the
sections the task names are kept, and every value in them must be a plain JSON value: a `_target_` key, an
`${` interpolation or any other type is one UserError naming the file and the key. What the evaluate / predict /
detect commands instantiate (the Trainer) comes from the command line's composed config only.

    config = read_run_config(run_dir / "config.json", ("method", "backbone", "dataset", "task", "seed"), "task=clip")
"""
import json
from pathlib import Path

import yaml

from src.core.errors import UserError

CODE_KEY = "_target_"        # what Hydra's instantiate imports and calls
INTERPOLATION = "${"         # what OmegaConf resolves (resolvers, environment variables, other keys)
DATA_NOT_CODE = "a run folder's config is data, not code: remove it or train the run again"


def read_run_config(path: Path, sections: tuple[str, ...], kind: str) -> dict:
    """The `sections` of the run config at `path` (JSON, or YAML for .yaml / .yml), each checked to be plain data.

    `kind` ("task=clip") names what the file should be in the error when a section is missing. Sections not named
    are not returned, and not looked at: nothing reads them.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        raise UserError(f"{path}: unreadable run config ({type(err).__name__}); the run folder is damaged, train "
                        "the run again") from err
    return plain_sections(data, sections, f"{path}", kind)


def plain_sections(data, sections: tuple[str, ...], source: str, kind: str) -> dict:
    """`data[section]` for each of `sections`, checked by `check_plain`; `source` names where `data` came from."""
    missing = [s for s in sections if not isinstance(data, dict) or s not in data]
    if missing:
        raise UserError(f"{source}: not a {kind} run config (no {', '.join(missing)}); the run folder is damaged, "
                        "train the run again")
    for section in sections:
        check_plain(data[section], source, section)
    return {section: data[section] for section in sections}


def check_plain(value, source: str, key: str) -> None:
    """Refuse anything in `value` that is not plain JSON data; `key` is its dotted path, for the error line."""
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise UserError(f"{source}: {key} has the key {name!r}, not a string; the run folder is damaged, "
                                "train the run again")
            if name == CODE_KEY:
                raise UserError(f"{source}: {key}.{name}={_short(item)} names code to run; {DATA_NOT_CODE}")
            check_plain(item, source, f"{key}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_plain(item, source, f"{key}[{i}]")
    elif isinstance(value, str):
        if INTERPOLATION in value:
            raise UserError(f"{source}: {key}={_short(value)} is an interpolation; {DATA_NOT_CODE}")
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise UserError(f"{source}: {key} is a {type(value).__name__}, not plain JSON data; the run folder is "
                        "damaged, train the run again")


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
