"""`python -m src.evaluate task=header run=<name or folder> dataset.val_csv=<csv>`: a Header Net run on any CSV.

Writes into `<run folder>/eval/`, named after the CSV (`<csv stem>-<T>f`):
- `<stem>.json`              metrics at 0.5 and at the run's stored F1-optimal threshold, ROC-AUC, PR-AUC, the
                             F1-optimal threshold of this CSV (for reference), counts and the protocol block
- `<stem>-predictions.csv`   one row per clip in the val_predictions.csv format (pred_label at 0.5)
- `<stem>-roc.png`, `<stem>-pr.png`
The run's config.yaml is the protocol; command-line `dataset.*` keys change it (val_csv, num_frames, batch size).
"""
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader
from torchmetrics.functional.classification import (
    binary_accuracy,
    binary_auroc,
    binary_average_precision,
    binary_f1_score,
    binary_matthews_corrcoef,
    binary_precision,
    binary_recall,
)

from src.core.atomic import write_csv, write_json
from src.core.errors import UserError
from src.core.overrides import apply_section_overrides, override_keys
from src.core.provenance import file_sha256, git_commit
from src.header.artifacts import HeaderRunArtifacts
from src.header.data.dataset import HeaderClipDataset, collate_skip_bad, read_header_csv
from src.header.data.transforms import build_clip_transform
from src.header.losses import build_loss
from src.header.metrics import best_f1_threshold
from src.header.plots import plot_pr, plot_roc
from src.header.run_loading import load_header_run


def metrics_at(probs: torch.Tensor, labels: torch.Tensor, threshold: float) -> dict:
    """Accuracy, precision, recall, F1, MCC of "header" = prob >= threshold (as pred_label and the F1-optimal
    threshold of the precision-recall curve count it; torchmetrics' own thresholding is a strict >)."""
    preds = (probs >= threshold).long()
    return {"threshold": threshold,
            "acc": float(binary_accuracy(preds, labels)), "precision": float(binary_precision(preds, labels)),
            "recall": float(binary_recall(preds, labels)), "f1": float(binary_f1_score(preds, labels)),
            "mcc": float(binary_matthews_corrcoef(preds, labels))}


@torch.no_grad()
def predict(net, loader: DataLoader, loss_fn, device: torch.device) -> dict[str, np.ndarray]:
    """-> row_idx, label, prob_header, loss per clip (the arrays the run's artifact writer takes), and num_bad: the
    clips the loader skipped (unreadable at load time; `collate_skip_bad` batches)."""
    net.to(device).eval()
    parts: dict[str, list] = {"row_idx": [], "label": [], "prob_header": [], "loss": []}
    num_bad = 0
    for batch in loader:
        num_bad += int(batch.get("num_bad", 0))
        if "video" not in batch:
            continue  # every clip of the batch was unreadable
        logits = net(batch["video"].to(device)).float().cpu()          # (B, 2)
        parts["row_idx"].append(batch["row_idx"])
        parts["label"].append(batch["label"])
        parts["prob_header"].append(logits.softmax(-1)[:, 1])
        parts["loss"].append(loss_fn(logits, batch["label"]))
    return {**{k: torch.cat(v).numpy() if v else np.zeros(0) for k, v in parts.items()}, "num_bad": num_bad}


def _device(trainer: dict) -> torch.device:
    wants_gpu = trainer["accelerator"] in ("auto", "gpu", "cuda")
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


def evaluate(cfg: DictConfig, overrides: list[str]) -> dict:
    config = OmegaConf.to_container(cfg, resolve=True)
    if config["run"] is None:
        raise UserError(f"run= is missing: give run=<run name> (a folder under {config['paths']['report_dir']}) or a "
                        "task=header run folder path")
    start = time.monotonic()
    run = load_header_run(config["run"], Path(config["paths"]["report_dir"]))
    run_dir = run.checkpoint.parent.parent
    dataset = apply_section_overrides(run.config["dataset"], config["dataset"], "dataset", override_keys(overrides))
    table = read_header_csv(Path(dataset["val_csv"]), name="dataset.val_csv", check_clips=dataset["check_clips"],
                            max_bad_fraction=dataset["max_bad_fraction"])
    backbone = run.config["backbone"]
    transform = build_clip_transform(input_size=dataset["input_size"], augment=False, flip_prob=0.0, color_jitter={},
                                     normalise=True, mean=backbone["mean"], std=backbone["std"])
    clips = HeaderClipDataset(table.rows, num_frames=dataset["num_frames"], transform=transform, seed=0)
    loader = DataLoader(clips, batch_size=dataset["val_batch_size"], shuffle=False, num_workers=dataset["num_workers"],
                        collate_fn=collate_skip_bad)
    # The run's loss per clip (weighted_ce with auto weights takes this CSV's class counts).
    predictions = predict(run.net, loader, build_loss(run.config["loss"], table.class_counts), _device(config["trainer"]))
    if predictions["label"].size == 0:
        raise UserError(f"{dataset['val_csv']}: every clip was unreadable when loaded; check the clips with "
                        "`python -m data_tools.check_dataset task=header …` and re-export them")
    probs, labels = torch.from_numpy(predictions["prob_header"]), torch.from_numpy(predictions["label"])
    decision = float(run.config["task"]["threshold"])   # the run's task.threshold (0.5 by default)
    results = {
        "at_0.5": metrics_at(probs, labels, decision),
        "at_run_threshold": metrics_at(probs, labels, run.threshold),
        "auc": float(binary_auroc(probs, labels)), "pr_auc": float(binary_average_precision(probs, labels)),
        "best_threshold_on_this_csv": best_f1_threshold(probs, labels, fallback=decision),
        "loss": float(predictions["loss"].mean()),
        "num_clips": int(len(labels)), "num_headers": int(labels.sum()), "bad_clips": len(table.bad_clips) + predictions["num_bad"],
    }
    stem = f"{Path(dataset['val_csv']).stem}-{dataset['num_frames']}f"
    out = run_dir / "eval"
    results["protocol"] = {
        "run": str(run_dir), "csv": str(dataset["val_csv"]), "backbone": backbone["name"],
        "num_frames": dataset["num_frames"], "input_size": dataset["input_size"],
        "run_threshold": run.threshold, "run_threshold_source": "best_metrics.json best_threshold (chosen on the "
                                                                  "run's validation CSV)",
        "checkpoint": str(run.checkpoint), "checkpoint_sha256": file_sha256(run.checkpoint), "git_commit": git_commit(),
        "seconds": round(time.monotonic() - start, 3),
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    frame = HeaderRunArtifacts(run_dir, run.config, table.rows).predictions_frame(predictions, decision)
    write_csv(out / f"{stem}-predictions.csv", frame)
    write_json(out / f"{stem}.json", results)
    _plots(predictions, results, out, stem)
    _print(results, out / f"{stem}.json")
    return results


def _plots(predictions: dict, results: dict, out: Path, stem: str) -> None:
    labels, probs = predictions["label"], predictions["prob_header"]
    if labels.min() == labels.max():
        return  # one class only: no ROC / PR curve to draw
    plot_roc(labels, probs, out / f"{stem}-roc.png", results["auc"])
    at_run = {**results["at_run_threshold"]}
    plot_pr(labels, probs, out / f"{stem}-pr.png", results["pr_auc"], at_run)


def _print(results: dict, path: Path) -> None:
    table = Table(title=f"Header Net evaluation ({path})")
    for column in ("threshold", "acc", "precision", "recall", "f1", "mcc"):
        table.add_column(column)
    for key in ("at_0.5", "at_run_threshold"):
        row = results[key]
        table.add_row(*(f"{row[c]:.4f}" for c in ("threshold", "acc", "precision", "recall", "f1", "mcc")))
    Console().print(table)
    Console().print(f"ROC-AUC {results['auc']:.4f}   PR-AUC {results['pr_auc']:.4f}   clips {results['num_clips']} "
                    f"(headers {results['num_headers']}, unreadable {results['bad_clips']})")
