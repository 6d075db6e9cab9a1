"""User-facing errors: one clear line, exit code 2, no traceback (`one_line_errors` in every entry point)."""
import logging
import sys
from contextlib import contextmanager

from src.core.disk_errors import disk_error_line


class UserError(Exception):
    """Bad input the user can fix: a missing path, a malformed file, an unknown option.

    The message names the file / row / key and says what to do. Every entry point prints it as one line and exits 2.
    """


class BadVideoError(Exception):
    """A video that cannot be decoded (unreadable, zero frames, truncated). Skipped and counted, not fatal."""


# Library chatter that is no news to the user and would stand beside the one `error:` line of bad input: Lightning
# logs "Seed set to N" to stderr on every seed_everything (the seed is in the run's config). (The torch.jit.script
# FutureWarning the issue also named came from fvcore, gone with pytorchvideo.)
QUIET_LOGGERS = ("lightning_fabric.utilities.seed",)


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def one_line(err: BaseException) -> str:
    """An exception's message (and its cause's) as one line."""
    text = str(err) or type(err).__name__
    cause = err.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


@contextmanager
def one_line_errors():
    """Every entry point's contract: bad input (UserError) is one `error:` line on stderr, exit 2, no traceback.
    Entering it also quiets the libraries' chatter (QUIET_LOGGERS) for the whole process."""
    quiet_libraries()
    try:
        yield
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Exception as err:  # a full, read-only or forbidden folder: src/core/disk_errors.py
        if (line := disk_error_line(err)) is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
