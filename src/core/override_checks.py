"""Checks of the command line before Hydra runs: every mistake is one `error:` line (Hydra's own are multi-line).

- a flag Hydra does not know (`--mutlirun`), or `--cfg` without job | hydra | all;
- an override Hydra cannot parse (`method.ctx_len=[4,8`);
- an override of a key the composed config does not have (`method.ctxlen=4`) names the closest valid keys;
- anything else Hydra cannot compose (a value of the wrong type for a structured part) is its message on one line.
Group choices themselves are checked by src/core/cli_checks.py.
"""
import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError, one_line

_MISSING = object()
# Hydra's own flags (hydra/_internal/utils.py get_args_parser): those that take a value, and the others.
_FLAGS_WITH_VALUE = {"--cfg": "-c", "--package": "-p", "--config-path": "-cp", "--config-name": "-cn",
                     "--config-dir": "-cd", "--experimental-rerun": None}
_FLAGS = {"--help": "-h", "--hydra-help": None, "--version": None, "--resolve": None, "--run": "-r",
          "--multirun": "-m", "--shell-completion": "-sc", "--info": "-i"}
_INFO_CHOICES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


@dataclass
class CommandLine:
    overrides: list[Override]   # parsed, hydra.* ones included
    multirun: bool
    config_name: str            # the root config (`--config-name` may name another)
    runs_nothing: bool          # --help, --info, …: Hydra prints something and composes nothing
    prints_config: bool         # --cfg job|hydra|all: Hydra composes and prints the config, and runs no job


def parse_command_line(argv: list[str], config_name: str) -> CommandLine:
    """Hydra's flags checked and set aside, the overrides parsed (UserError for either)."""
    words, rest, flags = [], list(argv), {}
    while rest:
        word = rest.pop(0)
        if not word.startswith("-") or word.startswith("~"):
            words.append(word)
            continue
        name, _, value = word.partition("=")
        name = _long_flag(name)
        if name in _FLAGS_WITH_VALUE and not value:
            value = rest.pop(0) if rest else ""
        elif name == "--info" and not value and rest and rest[0] in _INFO_CHOICES:
            value = rest.pop(0)
        flags[name] = value
    if "--cfg" in flags and flags["--cfg"] not in ("job", "hydra", "all"):
        raise UserError(f"--cfg {flags['--cfg']}: choose job, hydra or all")
    try:
        parsed = OverridesParser.create().parse_overrides(words)
    except Exception as err:  # Hydra's grammar errors
        raise UserError(f"cannot parse the command line: {one_line(err)}") from None
    informing = {"--help", "--hydra-help", "--version", "--info", "--shell-completion"}
    return CommandLine(parsed, "--multirun" in flags, flags.get("--config-name") or config_name,
                       runs_nothing=bool(informing & set(flags)), prints_config="--cfg" in flags)


def _long_flag(name: str) -> str:
    """`-m` -> `--multirun`; a unique prefix (`--multi`) -> the flag, as argparse takes it; else UserError."""
    known = {**_FLAGS_WITH_VALUE, **_FLAGS}
    for long, short in known.items():
        if name in (long, short):
            return long
    matches = [long for long in known if name.startswith("--") and long.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UserError(f"unknown option {name}; {hint}see --help (overrides are written key=value, without dashes)")


def override_variants(command: CommandLine) -> list[list[str]]:
    """The command line as plain overrides, once with every sweep's first value, then once per further value of
    each sweep (the other sweeps at their first value), so that every value a sweep would use gets checked."""
    if not command.multirun:  # a sweep here is Hydra's error ("use --multirun"), composing says so
        return [[o.input_line for o in command.overrides]]
    firsts = [_plain(o, _values(o)[0]) for o in command.overrides]
    variants = [firsts]
    for i, override in enumerate(command.overrides):
        for value in _values(override)[1:]:
            variants.append(firsts[:i] + [_plain(override, value)] + firsts[i + 1:])
    return variants


def _values(override: Override) -> list:
    """A sweep's values as text ([None] for a plain override or a sweep that cannot be listed, like interval())."""
    if not override.is_sweep_override():
        return [None]
    try:
        return list(override.sweep_string_iterator())
    except Exception:  # interval(), a range without an end: the sweeper draws from it; checked at its default
        return [None]


def _plain(override: Override, value) -> str:
    """The override with one value (the compose API takes no sweeps); "" drops a sweep that cannot be listed."""
    if value is None:
        return "" if override.is_sweep_override() else override.input_line
    prefix = "~" if override.is_delete() else "++" if override.is_force_add() else "+" if override.is_add() else ""
    return f"{prefix}{override.key_or_group}={value}"


def compose_checked(lines: list[str], config_name: str) -> DictConfig:
    """conf/<config_name>.yaml + the overrides as Hydra composes them (Hydra's own node kept, unresolved); an
    unknown key names the closest ones, any other failure is Hydra's message on one line."""
    lines = [line for line in lines if line]
    try:
        return _compose(lines, config_name)
    except UserError:
        _check_keys(lines, config_name)  # a mistyped key: say which, and what it may have meant
        raise


def _check_keys(lines: list[str], config_name: str) -> None:
    parsed = OverridesParser.create().parse_overrides(lines)
    groups = [o.input_line for o in parsed if _is_group(o.key_or_group)]
    cfg = _compose(groups, config_name)
    keys = _flat_keys(OmegaConf.to_container(cfg, resolve=False))
    for override in parsed:
        key = override.key_or_group
        if _is_group(key) or override.is_add() or override.is_force_add():
            continue
        if key not in keys and OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False) is _MISSING:
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else "`--cfg job` lists the keys"
            raise UserError(f"{override.input_line}: the config has no key {key}; {hint} (to add a new key write "
                            f"+{key}=…)")


def _is_group(key: str) -> bool:
    return (CONF_DIR / key.lstrip("/")).is_dir()


def _compose(overrides: list[str], config_name: str) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config_name, overrides=overrides, return_hydra_config=True)
    except Exception as err:  # ConfigCompositionException, OmegaConf errors: Hydra would print several lines
        raise UserError(one_line(err)) from None
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
