"""Hydra callback: after a multirun over seeds, mean ± std over seeds of every result, per setting.

Each job writes `<sweep dir>/<job>/result.json` ({"overrides": [...], figures...}; src/train.py). Jobs are grouped
by every override except `seed` (so any sweep works: dataset.k_train, method.ctx_len x method.pooling, …), and
each figure gets its mean, its sample standard deviation over the seeds (ddof=1; 0 with one seed) and the number
of seeds. Files beside the sweep's summary.csv:
- `<name>_table.csv`   one row per setting: the overrides, n_seeds, seeds, <figure>_mean, <figure>_std
- `<name>_table.md`    the same as "mean ± std" (paste into a paper), then every run's figures
- `<name>.png`         with `plot_x`: mean ± std (error bars) of each figure against that override
`name`, `metrics` and `plot_x` come from the callback's config (conf/hydra/default.yaml; the few_shot and
base_to_novel experiments set them). A sweep without `seed` gets no table (a protocol experiment refuses to
start without one: src/core/protocol_checks.py).
"""
import io
import json
import logging
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback
from matplotlib.figure import Figure
from omegaconf import DictConfig

from src.core.atomic import write_bytes, write_csv, write_text

log = logging.getLogger(__name__)


def read_results(sweep_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """One row per job (its overrides as text, its figures) and the names of the override columns."""
    rows, override_cols = [], []
    for path in sorted(Path(sweep_dir).glob("*/result.json")):
        record = json.loads(path.read_text())
        overrides = dict(o.split("=", 1) for o in record.pop("overrides") if "=" in o)
        override_cols += [k for k in overrides if k not in override_cols]
        rows.append({**overrides, **record})
    return pd.DataFrame(rows), override_cols


def aggregate(runs: pd.DataFrame, override_cols: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean and sample std (ddof=1, 0 for one seed) of each metric per group of every override but seed."""
    keys = [c for c in override_cols if c != "seed"]
    runs = runs.assign(**{k: runs[k].fillna("") for k in keys})
    groups = runs.groupby(keys, sort=False) if keys else [((), runs)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        row["n_seeds"] = int(group["seed"].nunique())
        row["seeds"] = " ".join(sorted(group["seed"].astype(str), key=_numeric_key))
        for metric in metrics:
            values = group[metric].astype(float).to_numpy()
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    if keys:  # numeric settings in numeric order (K = 2, 4, 8, 16, not 16, 2, 4, 8)
        table = table.sort_values(keys, key=lambda col: col.map(_numeric_key)).reset_index(drop=True)
    return table


def _numeric_key(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def markdown(table: pd.DataFrame, runs: pd.DataFrame, keys: list[str], metrics: list[str], title: str) -> str:
    header = [*keys, *metrics, "seeds"]
    lines = [f"# {title}", "", "mean ± sample std (ddof=1) over seeds", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row[k]) for k in keys]
        cells += [f"{row[f'{m}_mean']:.4f} ± {row[f'{m}_std']:.4f}" for m in metrics]
        lines.append("| " + " | ".join([*cells, str(row["n_seeds"])]) + " |")
    per_run = [*keys, "seed", *metrics]
    lines += ["", "## every run", "", "| " + " | ".join(per_run) + " |", "|" + "---|" * len(per_run)]
    for _, row in runs.iterrows():
        cells = [str(row[k]) for k in [*keys, "seed"]] + [f"{float(row[m]):.4f}" for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, keys: list[str], metrics: list[str], x: str, title: str) -> bytes:
    """Mean ± std of each metric against override `x` (one line per setting of the other overrides)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    others = [k for k in keys if k != x]
    groups = table.groupby(others, sort=False) if others else [((), table)]
    for key, group in groups:
        suffix = " ".join(f"{k}={v}" for k, v in zip(others, key if isinstance(key, tuple) else (key,)))
        xs = group[x].map(lambda v: _numeric_key(v)[1]).to_numpy()
        for metric in metrics:
            ax.errorbar(xs, group[f"{metric}_mean"], yerr=group[f"{metric}_std"], marker="o", capsize=4,
                        label=f"{metric} {suffix}".strip())
    ax.set(xlabel=x, ylabel="mean ± std over seeds", title=title)
    ax.set_xticks(sorted(set(table[x].map(lambda v: _numeric_key(v)[1]))))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def write_seed_table(sweep_dir: Path, name: str, metrics: list[str] | None, plot_x: str | None) -> pd.DataFrame | None:
    """The three files for the sweep in `sweep_dir`; None (and nothing written) when it did not sweep seeds."""
    runs, override_cols = read_results(sweep_dir)
    if runs.empty or "seed" not in override_cols:
        log.info("seed table: no seed in the sweep under %s; add seed=0,1,2 for mean ± std", sweep_dir)
        return None
    if metrics is None:
        metrics = [c for c in runs.columns if c not in override_cols and runs[c].map(type).eq(float).all()]
    missing = [m for m in metrics if m not in runs.columns]
    if missing:
        log.warning("seed table: the runs did not report %s (e.g. no test split); tabulating the rest", missing)
        metrics = [m for m in metrics if m in runs.columns]
    # Every override but seed groups the runs; the ones that are the same in every run are left out of the table.
    override_cols = [c for c in override_cols if c == "seed" or runs[c].astype(str).nunique() > 1]
    keys = [c for c in override_cols if c != "seed"]
    table = aggregate(runs, override_cols, metrics)
    write_csv(sweep_dir / f"{name}_table.csv", table)
    write_text(sweep_dir / f"{name}_table.md", markdown(table, runs, keys, metrics, f"{name} ({sweep_dir})"))
    if plot_x is not None and plot_x in keys:
        write_bytes(sweep_dir / f"{name}.png", plot(table, keys, metrics, plot_x, name))
    log.info("seed table: %s", sweep_dir / f"{name}_table.md")
    return table


class SeedTable(Callback):
    def __init__(self, name: str, metrics: list[str] | None, plot_x: str | None):
        self.name, self.metrics, self.plot_x = name, (list(metrics) if metrics else None), plot_x

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        write_seed_table(Path(config.hydra.sweep.dir), self.name, self.metrics, self.plot_x)
