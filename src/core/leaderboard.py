"""The leaderboard of src.report: every result of every run as one row, grouped so that only comparable numbers
sit side by side, written as leaderboard.csv (pandas) and leaderboard.md.

A run's facts (src/core/run_facts.py) hold one entry per result (its best epoch, its test pass, each evaluation);
each becomes a row with the run's identity, its cost (cost.json; blank when absent) and the result's protocol.
The group of a row is its task, the dataset it was scored on, its split and its protocol (K-shot, classes,
frames, views, …): a 4-view figure never sits beside a 1-view one, nor a base-class figure beside a novel one.
"""
from pathlib import Path

import pandas as pd

from src.core.atomic import write_csv, write_text
from src.core.run_facts import COST_KEYS

RUN_COLUMNS = ["task", "method", "backbone", "weights", "seed", "run_id", "status", "created", "git_commit", "sweep"]
RESULT_COLUMNS = ["group", "dataset", "split", "protocol", "metric", "score", "source"]
FIGURE_COLUMNS = ["top1", "top5", "mean_class_accuracy", "f1_macro", "f1", "auc", "pr_auc", "acc", "mcc"]
TAIL_COLUMNS = ["k_shot", "classes", "frames", "views", "run_dir"]
COLUMNS = [*RESULT_COLUMNS, *RUN_COLUMNS, *FIGURE_COLUMNS, *COST_KEYS, *TAIL_COLUMNS]
COUNT_COLUMNS = ["seed", "params_total", "params_trainable"]   # integers with blanks (pandas' nullable Int64)
MD_COLUMNS = ["method", "backbone", "seed", "metric", "score", "source", "gflops_forward", "run_id"]


def protocol_text(protocol: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in protocol.items())


def result_rows(facts: dict, sweep: str | None = None) -> list[dict]:
    """One row per result of the run `facts` describes."""
    cost = facts["cost"] or {}
    run = {"task": facts["task"], "method": facts["method"], "backbone": facts["backbone"],
           "weights": facts["weights"], "seed": facts["seed"], "run_id": facts["run_id"],
           "status": facts["status"], "created": facts["created"],
           "git_commit": facts["git_commit"], "sweep": sweep, "run_dir": facts["run_dir"],
           **{key: cost.get(key) for key in COST_KEYS}}
    rows = []
    for result in facts["results"]:
        protocol = protocol_text(result["protocol"])
        rows.append({
            **run, "group": f"{facts['task']} | {result['dataset']} | {result['split']} | {protocol}",
            "dataset": result["dataset"], "split": result["split"], "protocol": protocol,
            "metric": facts["primary"], "score": result["figures"].get(facts["primary"]), "source": result["source"],
            **{key: result["figures"].get(key) for key in FIGURE_COLUMNS},
            **{key: result["protocol"].get(key) for key in ("k_shot", "classes", "frames", "views")}})
    return rows


def leaderboard(rows: list[dict]) -> pd.DataFrame:
    """The rows as one table: by group, then best score first within a group."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    table[COUNT_COLUMNS] = table[COUNT_COLUMNS].astype("Int64")  # 1234, not 1234.0 beside a run without cost.json
    if table.empty:
        return table
    # Every column stays, blank where no run has it (cost before cost.json existed): one schema for every file.
    table = table.sort_values(["group", "score"], ascending=[True, False], na_position="last", kind="stable")
    return table.reset_index(drop=True)


def groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [] if table.empty else list(table.groupby("group", sort=True))


def markdown(table: pd.DataFrame, warnings: list[str]) -> str:
    lines = ["# Leaderboard", "", f"{table['run_dir'].nunique() if not table.empty else 0} runs, {len(table)} "
             "results; one table per task, dataset, split and protocol (only comparable numbers side by side).", ""]
    for name, group in groups(table):
        columns = [c for c in MD_COLUMNS if c in group.columns]
        lines += [f"## {name}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for _, row in group.iterrows()]
        lines.append("")
    if warnings:
        lines += ["## Skipped", "", *(f"- {w}" for w in warnings), ""]
    return "\n".join(lines)


def cell(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_tables(table: pd.DataFrame, warnings: list[str], out_dir: Path) -> list[Path]:
    return [write_csv(Path(out_dir) / "leaderboard.csv", table),
            write_text(Path(out_dir) / "leaderboard.md", markdown(table, warnings))]
