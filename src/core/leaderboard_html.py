"""leaderboard.html: the leaderboard as one self-contained page that opens without network access.

Everything is inline: the CSS, a few lines of JS that sort a table by the clicked column, and the plots as SVG
(matplotlib's SVG output, its XML prolog and metadata stripped). No script, style sheet, font or image is
fetched from anywhere. Per group (task, dataset, split, protocol): a sortable table; an accuracy-vs-GFLOPs
scatter where the runs have cost.json; few-shot curves (the figure against K) where several K share a protocol.
"""
import html
import io
import re
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from src.core.atomic import write_text
from src.core.leaderboard import groups

HTML_COLUMNS = ["method", "backbone", "weights", "seed", "metric", "score", "source", "top1", "top5", "f1", "auc",
                "params_total", "gflops_forward", "sweep", "run_id"]
CURVE_KEYS = ["task", "dataset", "split", "classes", "frames", "views"]   # a protocol but for K

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 2em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#eee;cursor:pointer}tr:nth-child(even){background:#fafafa}h2{margin-top:2em}"""

# Click a header: sort by that column (numbers as numbers, blanks last); click again: the other way.
SCRIPT = """document.querySelectorAll('table.sortable th').forEach(th => th.addEventListener('click', () => {
  const i = th.cellIndex, body = th.closest('table').tBodies[0], up = th.dataset.dir !== 'up';
  th.dataset.dir = up ? 'up' : 'down';
  const key = r => { const t = r.cells[i].textContent.trim(), n = parseFloat(t); return t === '' ? null : isNaN(n) ? t : n; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    if (x === null || y === null) return (x === null) - (y === null);
    return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }).forEach(r => body.appendChild(r));
}));"""


def write_html(table: pd.DataFrame, warnings: list[str], out_path: Path) -> Path:
    return write_text(out_path, render_html(table, warnings))


def render_html(table: pd.DataFrame, warnings: list[str]) -> str:
    parts = [f"<h1>Leaderboard</h1><p>{len(table)} results; one table per task, dataset, split and protocol: "
             "only comparable numbers side by side. Click a column header to sort.</p>"]
    for name, group in groups(table):
        columns = [c for c in HTML_COLUMNS if c in group.columns]
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(group[columns].to_html(index=False, classes="sortable", na_rep="", border=0,
                                            float_format=lambda v: f"{v:.4f}"))
    parts.append("<h2>Accuracy vs GFLOPs</h2>" + _scatters(table))
    if curves := _few_shot_curves(table):
        parts.append("<h2>Few-shot curves</h2>" + curves)
    if warnings:
        parts.append("<h2>Skipped</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Leaderboard</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}<script>{SCRIPT}</script></body></html>\n")


def _scatters(table: pd.DataFrame) -> str:
    """One scatter per group with cost figures: its score against forward GFLOPs per clip, a point per result."""
    svgs = []
    for name, group in groups(table):
        points = group.dropna(subset=["gflops_forward", "score"])
        if points.empty:
            continue
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        for label, rows in points.groupby(["method", "backbone"]):
            ax.scatter(rows["gflops_forward"].astype(float), rows["score"].astype(float), label=" / ".join(label))
        ax.set(xlabel="GFLOPs per clip (forward)", ylabel=str(points["metric"].iloc[0]), title=name[:90])
        ax.legend(fontsize=7)
        svgs.append(_svg(fig))
    return "".join(svgs) or "<p>No run has a cost.json yet: nothing to plot.</p>"


def _few_shot_curves(table: pd.DataFrame) -> str:
    """The score against K per method / backbone (mean over seeds), for each protocol holding several K."""
    if table.empty:
        return ""
    shots = table[pd.to_numeric(table["k_shot"], errors="coerce").notna()].copy()
    shots["k"] = shots["k_shot"].astype(float)
    svgs = []
    for key, rows in shots.groupby(CURVE_KEYS, dropna=False):
        if rows["k"].nunique() < 2:
            continue
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        for label, line in rows.groupby(["method", "backbone", "source"]):
            mean = line.groupby("k")["score"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", label=" / ".join(label))
        ax.set(xlabel="K (training videos per class)", ylabel=str(rows["metric"].iloc[0]),
               title=" | ".join(str(k) for k in key)[:90])
        ax.legend(fontsize=7)
        svgs.append(_svg(fig))
    return "".join(svgs)


def _svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML prolog, DOCTYPE or metadata block)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
