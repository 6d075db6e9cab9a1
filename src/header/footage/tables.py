"""Reading the footage tools' CSVs (labels, ball tracks): a missing file, an unreadable CSV, a missing column or a
value that is not a number is one line naming the file, the row and what to do."""
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.errors import UserError


def read_table(path: Path, name: str, *, required: tuple[str, ...], hint: str) -> pd.DataFrame:
    """The CSV at `path` (given as `name`, e.g. `--labels`) with at least the `required` columns."""
    path = Path(path)
    given = f"{name} {path}" if name.startswith("-") else f"{name}={path}"  # a tool's option, or a config key
    if not path.is_file():
        raise UserError(f"{given}: no such file; {hint}")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)  # strings: values are checked column by column
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{given}: not a readable CSV ({str(err).splitlines()[0][:120]}); {hint}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise UserError(f"{given}: missing column(s) {', '.join(missing)} (has: {', '.join(table.columns)}); "
                        f"{hint}")
    return table


def number_column(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """`column` as float64; the first cell that is not a finite number is a UserError naming its row."""
    values = pd.to_numeric(table[column].str.strip(), errors="coerce")
    bad = np.flatnonzero(~np.isfinite(values.to_numpy(np.float64)))
    if len(bad):
        _bad_cell(table, column, path, int(bad[0]), "a number")
    return values.astype(np.float64)


def integer_column(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """`column` as int64 (`12` and `12.0` are fine; `12.5`, `x` and empty cells are a UserError naming the row)."""
    values = pd.to_numeric(table[column].str.strip(), errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if len(bad):
        _bad_cell(table, column, path, int(bad[0]), "an integer")
    return pd.Series(values.astype(np.int64), index=table.index)


def _bad_cell(table: pd.DataFrame, column: str, path: Path, i: int, kind: str):
    hint = " (frame numbers are the video's own, 0-based)" if column == "frame" else ""
    raise UserError(f"{path} row {i + 1} (line {i + 2}): {column} {table[column].iloc[i]!r} is not {kind}; fix the "
                    f"row{hint}")
