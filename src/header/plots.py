"""PNG plots of a Header Net run: loss curves, ROC curve, precision-recall curve, confusion matrix.

Drawn with matplotlib's object API (no pyplot: no global figure state, no display needed) and written
atomically like every other artifact.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torchmetrics.functional.classification import (
    binary_confusion_matrix,
    binary_precision_recall_curve,
    binary_roc,
)

from src.core.atomic import save_figure

PLOT_FILES = ("loss_curves.png", "roc_curve.png", "pr_curve.png", "confusion_matrix.png")


def _tensor(values) -> torch.Tensor:
    return torch.tensor(np.array(values))  # a copy: pandas hands out read-only arrays


def _save(fig: Figure, path: Path) -> None:
    save_figure(fig, path, format="png", dpi=110, bbox_inches="tight")


def loss_curves_figure(epochs: pd.DataFrame) -> Figure:
    """Train/val loss per epoch, and val F1 / AUC beside them."""
    fig = Figure(figsize=(10, 4))
    loss_ax, score_ax = fig.subplots(1, 2)
    for column, label in (("train_loss", "train"), ("val_loss", "validation")):
        loss_ax.plot(epochs["epoch"], epochs[column], marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    loss_ax.legend()
    for column, label in (("val_f1", "F1 @ 0.5"), ("val_auc", "ROC-AUC")):
        score_ax.plot(epochs["epoch"], epochs[column], marker="o", label=label)
    score_ax.set(xlabel="epoch", ylim=(0, 1.02), title="validation")
    score_ax.legend()
    for ax in (loss_ax, score_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs, also for 1 epoch
    return fig


def plot_loss_curves(epochs: pd.DataFrame, path: Path) -> None:
    _save(loss_curves_figure(epochs), path)


def plot_roc(labels: np.ndarray, probs: np.ndarray, path: Path, auc: float) -> None:
    fpr, tpr, _ = binary_roc(_tensor(probs).float(), _tensor(labels).long())
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(fpr.numpy(), tpr.numpy(), label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC (header = positive)")
    ax.legend(loc="lower right")
    _save(fig, path)


def plot_pr(labels: np.ndarray, probs: np.ndarray, path: Path, pr_auc: float, best: dict) -> None:
    precision, recall, _ = binary_precision_recall_curve(_tensor(probs).float(), _tensor(labels).long())
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(recall.numpy(), precision.numpy(), label=f"AP {pr_auc:.3f}")
    ax.axhline(float(np.mean(labels)), linestyle="--", color="grey", label="chance (header share)")
    ax.scatter([best["recall"]], [best["precision"]], color="red", zorder=3,
               label=f"best F1 {best['f1']:.3f} @ {best['threshold']:.2f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title="precision-recall")
    ax.legend(loc="lower left")
    _save(fig, path)


def plot_confusion(labels: np.ndarray, preds: np.ndarray, path: Path, threshold: float) -> None:
    matrix = binary_confusion_matrix(_tensor(preds).long(), _tensor(labels).long()).numpy()
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    names = ["no header", "header"]
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names, xlabel="predicted", ylabel="true",
           title=f"confusion matrix @ {threshold:.2f}")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > matrix.max() / 2 else "black")
    _save(fig, path)


def write_plots(run_dir: Path, epochs: pd.DataFrame, predictions: pd.DataFrame, best: dict) -> list[Path]:
    """All four plots from metrics_epoch.csv rows and the best epoch's val predictions; returns the files."""
    run_dir = Path(run_dir)
    labels, probs = predictions["label"].to_numpy(), predictions["prob_header"].to_numpy()
    plot_loss_curves(epochs, run_dir / PLOT_FILES[0])
    plot_roc(labels, probs, run_dir / PLOT_FILES[1], best["val_auc"])
    plot_pr(labels, probs, run_dir / PLOT_FILES[2], best["val_pr_auc"], best["best_threshold"])
    plot_confusion(labels, predictions["pred_label"].to_numpy(), run_dir / PLOT_FILES[3], best["threshold"])
    return [run_dir / name for name in PLOT_FILES]
