"""Class-list files (conf/protocol/*.yaml `class_lists`, e.g. class_lists/kinetics600_zero_shot/split_1.txt).

One class name per line; lines starting with '#' are comments; blank lines are skipped. A listed name is matched
to the dataset's class names the way the Kinetics reader matches a label to its folder: a space and an underscore
are the same ("air drumming" = "air_drumming"); otherwise exactly (case and punctuation count), so a misspelt or
foreign class is refused instead of being scored under another name.
"""
from pathlib import Path

from src.core.cli_checks import CONF_DIR
from src.core.errors import UserError

REPO_DIR = CONF_DIR.parent  # relative class-list paths start here: the lists ship with the code (class_lists/)


def class_list_path(spec: str) -> Path:
    """A protocol's class-list entry -> the file (relative: from the repository root)."""
    path = Path(spec).expanduser()
    return path if path.is_absolute() else REPO_DIR / path


def read_class_list(path: Path) -> list[str]:
    """The class names of a class-list file, in file order; a missing, empty or duplicated entry is an error."""
    if not path.is_file():
        raise UserError(f"{path}: class list not found; fix the path in protocol.class_lists (relative paths start "
                        f"at {REPO_DIR})")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8, one "
                        "class name per line") from None
    names, first_line = [], {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if _key(name) in first_line:
            raise UserError(f"{path}:{number}: class {name!r} is listed twice (first on line "
                            f"{first_line[_key(name)]}); list each class once")
        first_line[_key(name)] = number
        names.append(name)
    if not names:
        raise UserError(f"{path}: no class names (one per line, '#' lines are comments); fill it or drop it from "
                        "protocol.class_lists")
    return names


def match_class_list(path: Path, listed: list[str], class_names: list[str], dataset: str) -> list[str]:
    """The dataset's own spelling of each listed class, in list order; a class the dataset lacks is an error."""
    spelling = {_key(name): name for name in class_names}
    for name in listed:
        if _key(name) not in spelling:
            raise UserError(f"{path}: class {name!r} is not a class of dataset {dataset} ({len(class_names)} "
                            f"classes, e.g. {class_names[0]!r}); fix the list or evaluate on the dataset it is for")
    return [spelling[_key(name)] for name in listed]


def _key(name: str) -> str:
    return name.replace("_", " ")
