"""`run_id` / `run_name` name one run folder: checked before anything is created.

A run id becomes the last part of the run folder's path (`${paths.models_dir}/<method>/<dataset>/${run_id}`,
`${paths.report_dir}/${run_id}`), so it must be one plain folder name: a `/`, `..` or a hidden name would put the
run somewhere else, or on top of another one.
"""
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from src.core.errors import UserError

MAX_BYTES = 255  # the longest file name ext4, XFS, APFS and NTFS take
HINT = "give one folder name (letters, digits, - _ .), or leave run_id unset for a readable tag"


def check_run_ids(cfg: DictConfig) -> None:
    """run_name (the alias, when given) first: run_id follows it, and the error names the key the user typed."""
    if cfg.get("run_name") is not None:
        check_run_id("run_name", cfg.run_name)
    check_run_id("run_id", cfg.get("run_id"))


def check_sweep_run_ids(argv: list[str]) -> None:
    """`-m … run_id=x` with a sweep: every job would go to the one folder x; refused before the first job runs."""
    if not {"-m", "--multirun"} & set(argv):
        return
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if "=" in a and not a.startswith("-")])
    except Exception:  # Hydra's grammar errors: check_overrides reports them
        return
    fixed = [o for o in parsed if o.key_or_group in ("run_id", "run_name") and not o.is_sweep_override()]
    many = any(o.is_sweep_override() or o.key_or_group == "hparams_search" for o in parsed)
    if fixed and many:
        raise UserError(f"{fixed[0].input_line}: every job of this sweep would write into that one folder; leave "
                        f"{fixed[0].key_or_group} unset in a sweep (each job gets its own <tag>-jN folder)")


def check_run_id(key: str, value) -> None:
    if value is None:  # run_id=null: the folder would be named "None"
        raise UserError(f"{key}=null: empty; {HINT}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        plain = OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value
        kind = {list: "a list", dict: "a mapping", bool: "true / false"}.get(type(plain), type(plain).__name__)
        raise UserError(f"{key}={plain!r}: a run id is a folder name, not {kind}; {HINT}")
    name = str(value)
    problem = _problem(name)
    if problem:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise UserError(f"{key}={shown!r}: {problem}; {HINT}")


def _problem(name: str) -> str | None:
    if not name.strip():
        return "empty"
    if "/" in name or "\\" in name:
        return "a path separator (/ or \\) would put the run in another folder"
    if name.startswith("."):
        return "'.', '..' and names starting with '.' are not run folders (the same folder, its parent, hidden)"
    if not name.isprintable():
        return "holds a character that cannot be printed (a control character, tab or new line)"
    if len(name.encode("utf-8")) > MAX_BYTES:
        return f"{len(name.encode('utf-8'))} bytes long, more than a file system takes ({MAX_BYTES})"
    return None
