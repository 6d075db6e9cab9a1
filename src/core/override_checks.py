"""Checks of the command line before Hydra runs: every mistake is one `error:` line (Hydra's own are multi-line).

- an override of a key the composed config does not have (`method.ctxlen=4`) names the closest valid keys;
- anything else Hydra cannot compose (a bad value syntax, an ambiguous list) is its message on one line;
- `hydra.run.dir` / `hydra.sweep.dir` must be creatable (Hydra makes them before our code runs).
Group choices themselves are checked by src/core/cli_checks.py.
"""
import difflib
import os
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError

_MISSING = object()


_FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                     "--config-dir", "-cd", "--experimental-rerun"}


def check_overrides(argv: list[str]) -> None:
    """Raise UserError for the first override that names no key, or that Hydra cannot compose."""
    words, rest = [], list(argv)
    while rest:
        word = rest.pop(0)
        if word in _FLAGS_WITH_VALUE and rest:
            rest.pop(0)
        elif not word.startswith("-") or word.startswith("~"):
            words.append(word)
    multirun = "-m" in argv or "--multirun" in argv
    try:
        parsed = OverridesParser.create().parse_overrides(words)
    except Exception as err:  # Hydra's grammar errors
        raise UserError(f"cannot parse the command line: {_one_line(err)}") from None
    for override in parsed:
        if override.key_or_group.startswith("hydra.") and override.key_or_group.endswith(".dir"):
            _check_creatable(override.key_or_group, _first_value(override))
    first_values = [_first_value_line(o) if multirun else o.input_line for o in parsed
                    if not o.key_or_group.startswith("hydra")]
    groups = [line for o, line in zip([o for o in parsed if not o.key_or_group.startswith("hydra")], first_values)
              if _is_group(o.key_or_group)]
    cfg = _compose(groups)
    keys = _flat_keys(OmegaConf.to_container(cfg, resolve=False))
    for override, line in zip([o for o in parsed if not o.key_or_group.startswith("hydra")], first_values):
        key = override.key_or_group
        if _is_group(key) or override.is_add() or override.is_force_add():
            continue
        if OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False) is _MISSING:
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else "see `python -m src.train --cfg job`"
            raise UserError(f"{line}: the config has no key {key}; {hint} (to add a new key write +{key}=…)")
    _compose(first_values)  # whatever else Hydra rejects (types of structured parts, ambiguous values)


def _is_group(key: str) -> bool:
    return (CONF_DIR / key.lstrip("/")).is_dir()


def _first_value(override) -> str:
    if override.is_sweep_override():
        return next(iter(override.sweep_string_iterator()))
    return str(override.value())


def _first_value_line(override) -> str:
    """The override as one plain (non-sweep) value, so the compose API takes it."""
    if not override.is_sweep_override():
        return override.input_line
    prefix = "~" if override.is_delete() else "++" if override.is_force_add() else "+" if override.is_add() else ""
    value = next(iter(override.sweep_string_iterator()))
    return f"{prefix}{override.key_or_group}={value}"


def _compose(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("train", overrides=overrides)
    except Exception as err:  # ConfigCompositionException, OmegaConf errors: Hydra would print several lines
        raise UserError(f"{_one_line(err)}") from None
    finally:
        GlobalHydra.instance().clear()


def _flat_keys(node, prefix: str = "") -> list[str]:
    keys = []
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}{key}"
            keys.append(path)
            keys += _flat_keys(value, path + ".")
    return keys


def _check_creatable(key: str, value: str) -> None:
    if "${" in value:
        return  # an interpolation (Hydra's default): resolved by Hydra
    problem = folder_problem(Path(value))
    if problem:
        raise UserError(f"{key}={value}: cannot create this folder ({problem}); pick a writable place")


def folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be created or written (None when it can). Probes with a temporary folder in the nearest
    existing parent, removed at once, so nothing is left behind."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-test-", dir=existing))
    except OSError as err:
        return f"{existing} is not writable: {err.strerror or err}"
    return None


def _one_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    cause = err.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines)
