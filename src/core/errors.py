"""User-facing errors: one clear line, exit code 2, no traceback (`one_line_errors` in every entry point)."""
import sys
from contextlib import contextmanager

from src.core.disk_errors import disk_error_line


class UserError(Exception):
    """Bad input the user can fix: a missing path, a malformed file, an unknown option.

    The message names the file / row / key and says what to do. `src.train` prints it as one line and exits 2.
    """


class BadVideoError(Exception):
    """A video that cannot be decoded (unreadable, zero frames, truncated). Skipped and counted, not fatal."""


@contextmanager
def one_line_errors():
    """Every entry point's contract: bad input (UserError) is one `error:` line on stderr, exit 2, no traceback."""
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
