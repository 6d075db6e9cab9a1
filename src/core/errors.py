"""User-facing errors: one clear line, exit code 2, no traceback (see src/train.py)."""


class UserError(Exception):
    """Bad input the user can fix: a missing path, a malformed file, an unknown option.

    The message names the file / row / key and says what to do. `src.train` prints it as one line and exits 2.
    """


class BadVideoError(Exception):
    """A video that cannot be decoded (unreadable, zero frames, truncated). Skipped and counted, not fatal."""
