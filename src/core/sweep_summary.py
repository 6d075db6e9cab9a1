"""Hydra callback: after a multirun, one table of every job's overrides and best validation figures.

Each job of a sweep writes `<sweep dir>/<job num>/result.json` (src/train.py); this collects them into
`<sweep dir>/summary.csv` and prints the table.
"""
import json
import logging
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from src.core.atomic import write_csv

log = logging.getLogger(__name__)


def collect(sweep_dir: Path) -> pd.DataFrame:
    rows = []
    for result in sorted(sweep_dir.glob("*/result.json"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else p.parent.name):
        record = json.loads(result.read_text())
        overrides = dict(o.split("=", 1) for o in record.pop("overrides") if "=" in o)
        rows.append({"job": result.parent.name, **overrides, **record})
    return pd.DataFrame(rows)


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = collect(sweep_dir)
        if table.empty:
            log.warning("sweep summary: no job wrote a result.json under %s", sweep_dir)
            return
        write_csv(sweep_dir / "summary.csv", table)
        shown = Table(title=f"sweep summary ({sweep_dir / 'summary.csv'})")
        for col in table.columns:
            shown.add_column(str(col))
        for _, row in table.iterrows():
            shown.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row])
        Console().print(shown)
