"""What the argparse tools (data_tools/make_synthetic.py, data_tools/split_dataset.py) share: a parser whose
mistakes are one `error:` line (argparse prints its usage and the message on two), argument types that check
ranges and folders while parsing, before anything is written, and the tools' exit-code contract.

    parser = OneLineParser(description=…)
    parser.add_argument("--minutes", type=above(0.0), default=2.0)
    parser.add_argument("--output_dir", type=output_folder, required=True)
    return run_tool(lambda: work(parser.parse_args(argv)))     # 0, or 2 after one `error:` line
"""
import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from src.core.errors import UserError, quiet_libraries
from src.core.override_checks import folder_problem


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser (sub-parsers included) that raises UserError instead of printing usage and exiting."""

    def error(self, message: str):
        raise UserError(f"{message} (see --help)")


def at_least(low: int) -> Callable[[str], int]:
    """An integer >= low (counts, seeds)."""
    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text}: must be an integer >= {low}")
        return value
    parse.__name__ = "integer"  # argparse names the type in "invalid <type> value"
    return parse


def above(low: float) -> Callable[[str], float]:
    """A number > low (durations, rates)."""
    def parse(text: str) -> float:
        value = _number(text, float)
        if not value > low:
            raise argparse.ArgumentTypeError(f"{text}: must be a number > {low:g}")
        return value
    parse.__name__ = "number"
    return parse


def number_at_least(low: float) -> Callable[[str], float]:
    """A number >= low (ratios, scores)."""
    def parse(text: str) -> float:
        value = _number(text, float)
        if not low <= value < float("inf"):  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text}: must be a finite number >= {low:g}")
        return value
    parse.__name__ = "number"
    return parse


def _number(text: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None


def output_folder(text: str) -> Path:
    """A folder that exists or can be created, and is writable (not a file)."""
    problem = folder_problem(Path(text))
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: cannot write here ({problem}); pick another folder")
    return Path(text)


def output_file(text: str) -> Path:
    """A file path whose folder can be created (and that is not itself a folder)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder; give a file name in it")
    output_folder(str(path.parent))
    return path


def run_tool(work: Callable[[], None]) -> int:
    """Run a tool's body: 0 when it finishes, 2 after one `error:` line for bad input (UserError)."""
    quiet_libraries()
    try:
        work()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
