"""timeline.png: P(header) along the whole video, the threshold, the events, gaps, and (when annotations were
given) hits and misses. One strip per `row_minutes` of video, stacked, so a 45-minute half at 5 minutes a row
is nine readable strips instead of one line squeezed into 16 inches.

Markers: detected events are triangles at their peak (green: matched a true header, red: false positive, blue:
not evaluated); true headers are ticks under the curve (green: found, orange cross: missed); grey bands are
stretches that could not be decoded, yellow bands stretches without a ball box (detect.tracks): not scored.
"""
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MultipleLocator

from src.core.atomic import write_bytes

ROW_HEIGHT_IN = 1.5
WIDTH_IN = 16
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600)  # x ticks: the smallest step giving <= 12 per strip


@dataclass
class TimelineData:
    times: np.ndarray               # (N,) window centres, seconds
    probs: np.ndarray               # (N,) raw P(header)
    smoothed: np.ndarray            # (N,)
    threshold: float
    event_times: np.ndarray         # (E,)
    event_probs: np.ndarray         # (E,)
    event_hit: np.ndarray | None    # (E,) bool, None when not evaluated
    true_times: np.ndarray | None   # (G,) seconds, None when not evaluated
    true_hit: np.ndarray | None     # (G,) bool
    gaps: list[tuple[float, float]]  # (start_s, end_s)
    no_ball: list[tuple[float, float]]  # (start_s, end_s): windows not scored, no ball box
    duration_s: float
    title: str


def _mmss(seconds: float, _pos=None) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def draw_timeline(data: TimelineData, path: Path, *, row_minutes: float, dpi: int) -> Path:
    row_s = min(row_minutes * 60.0, max(data.duration_s, 1.0))
    rows = max(1, math.ceil(data.duration_s / row_s))
    fig = Figure(figsize=(WIDTH_IN, 0.6 + ROW_HEIGHT_IN * rows))
    axes = np.atleast_1d(fig.subplots(rows, 1, squeeze=False)[:, 0])
    for row, ax in enumerate(axes):
        _draw_row(ax, data, row * row_s, (row + 1) * row_s)
    axes[0].set_title(data.title, fontsize=10, loc="left")
    axes[0].legend(handles=_legend(data), loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=6,
                   frameon=False)  # above the first strip, beside the title
    axes[-1].set_xlabel("time (min:s)")
    fig.tight_layout(h_pad=0.4)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return write_bytes(Path(path), buffer.getvalue())


def _draw_row(ax, data: TimelineData, t0: float, t1: float) -> None:
    ax.set_xlim(t0, t1)
    ax.set_ylim(-0.12, 1.08)
    ax.set_yticks([0, 0.5, 1])
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MultipleLocator(next((s for s in TICK_STEPS_S if (t1 - t0) / s <= 12), 600)))
    ax.xaxis.set_major_formatter(FuncFormatter(_mmss))
    ax.grid(axis="x", alpha=0.25)
    for spans, colour in ((data.gaps, "0.6"), (data.no_ball, "gold")):
        for start, end in spans:
            if end >= t0 and start <= t1:
                ax.axvspan(start, end, color=colour, alpha=0.35 if colour == "gold" else 0.5, lw=0)
    shown = (data.times >= t0 - 5) & (data.times <= t1 + 5)
    ax.plot(data.times[shown], data.probs[shown], color="tab:blue", lw=0.5, alpha=0.35)
    ax.plot(data.times[shown], data.smoothed[shown], color="tab:blue", lw=0.9)
    ax.axhline(data.threshold, color="tab:red", lw=0.7, ls="--")
    ev = (data.event_times >= t0) & (data.event_times <= t1)
    colours = np.full(len(data.event_times), "tab:blue", dtype=object)
    if data.event_hit is not None:
        colours = np.where(data.event_hit, "tab:green", "tab:red")
    ax.scatter(data.event_times[ev], np.minimum(data.event_probs[ev] + 0.04, 1.04), marker="v", s=22,
               c=list(colours[ev]), zorder=3)
    if data.true_times is not None:
        tr = (data.true_times >= t0) & (data.true_times <= t1)
        hit, miss = tr & data.true_hit, tr & ~data.true_hit
        ax.scatter(data.true_times[hit], np.full(hit.sum(), -0.07), marker="|", s=40, c="tab:green", zorder=3)
        ax.scatter(data.true_times[miss], np.full(miss.sum(), -0.07), marker="x", s=25, c="tab:orange", zorder=3)


def _legend(data: TimelineData) -> list:
    handles = [Line2D([], [], color="tab:blue", lw=0.9, label="P(header), smoothed"),
               Line2D([], [], color="tab:red", lw=0.7, ls="--", label="threshold")]
    if data.no_ball:
        handles.append(Line2D([], [], color="gold", lw=6, alpha=0.35, label="no ball (not scored)"))
    if data.event_hit is None:
        return handles + [Line2D([], [], color="tab:blue", marker="v", ls="", label="event")]
    return handles + [Line2D([], [], color="tab:green", marker="v", ls="", label="event: hit"),
                      Line2D([], [], color="tab:red", marker="v", ls="", label="event: false positive"),
                      Line2D([], [], color="tab:green", marker="|", ls="", label="true header: found"),
                      Line2D([], [], color="tab:orange", marker="x", ls="", label="true header: missed")]
