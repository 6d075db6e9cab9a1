"""PNG pictures of a task=clip run: learning curves and a confusion matrix readable at 101 classes.

matplotlib's object API (no pyplot: no global state, no display) and atomic writes, as src/header/plots.py.
The confusion matrix is row-normalised; with many classes the names on the axes get too small to read, so the
figure also lists the largest confusions ("true -> predicted") by name beside the matrix.
"""
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from src.core.atomic import write_bytes

LABELLED_AXES_MAX = 40   # up to this many classes, every class name is on the matrix axes
TOP_CONFUSIONS = 20      # the largest off-diagonal cells listed by name beside the matrix


def _save(fig: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    write_bytes(path, buffer.getvalue())


def top_confusions(confusion: np.ndarray, names: list[str], n: int) -> list[tuple[str, str, int]]:
    """The n largest off-diagonal counts as (true name, predicted name, count), largest first."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:n]
    cells = [np.unravel_index(i, off.shape) for i in order]
    return [(names[t], names[p], int(off[t, p])) for t, p in cells if off[t, p] > 0]


def write_confusion_png(confusion, names: list[str], path: Path, title: str) -> None:
    """Row-normalised (C, C) matrix (rows true, columns predicted) + the top confusions by name."""
    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(1, keepdims=True)
    normalised = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    c = len(names)
    side = min(16.0, 4.0 + 0.12 * c)
    fig = Figure(figsize=(side + 6.0, side))
    matrix_ax, list_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [side, 6.0]})
    image = matrix_ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=matrix_ax, fraction=0.046, pad=0.02, label="fraction of the true class")
    matrix_ax.set_xlabel("predicted")
    matrix_ax.set_ylabel("true")
    matrix_ax.set_title(title)
    if c <= LABELLED_AXES_MAX:
        size = max(5, 10 - c // 8)
        matrix_ax.set_xticks(range(c), names, rotation=90, fontsize=size)
        matrix_ax.set_yticks(range(c), names, fontsize=size)
    else:  # class index numbers on the axes; the names of what matters are in the list beside
        step = max(1, c // 20)
        matrix_ax.set_xticks(range(0, c, step))
        matrix_ax.set_yticks(range(0, c, step))
    confusions = top_confusions(cm, names, TOP_CONFUSIONS)
    list_ax.axis("off")
    lines = [f"{count:>4}  {true} -> {pred}" for true, pred, count in confusions] or ["no confusions"]
    list_ax.text(0.0, 1.0, "largest confusions (videos):\n\n" + "\n".join(lines), va="top", ha="left",
                 family="monospace", fontsize=9, transform=list_ax.transAxes)
    _save(fig, path)


def curves_figure(records: list[dict]) -> Figure:
    """Train / val loss and top-1 per epoch from training_log.json records (None = not measured that epoch)."""
    fig = Figure(figsize=(10, 4))
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    for ax, keys, label in ((loss_ax, ("train_loss", "val_loss"), "loss"), (acc_ax, ("train_acc", "val_top1"), "top-1")):
        for key in keys:
            points = [(e, r[key]) for e, r in zip(epochs, records) if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs, also for 1 epoch
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def write_curves_png(records: list[dict], path: Path) -> None:
    _save(curves_figure(records), path)


def write_run_pictures(run_dir: Path, records: list[dict]) -> None:
    """curves.png, and confusion_matrix.png of the best epoch (its validation_results.json) when there is one."""
    write_curves_png(records, Path(run_dir) / "curves.png")
    best_file = Path(run_dir) / "validation_results.json"
    if best_file.is_file():
        best = json.loads(best_file.read_text())
        write_confusion_png(best["confusion_matrix"], best["class_names"], Path(run_dir) / "confusion_matrix.png",
                            title=f"best epoch {best['best_epoch']}: val top-1 {best['top1']:.3f}")
