"""Evaluate a task=clip model under a stated protocol and write `<out>/<dataset>-split<N>-<split>-<T>x<S>views-<F>f.json`.

The pass is Lightning's test (or validate) loop of ClipVideoModule, so the figures are the very ones a run's
own test_results.json reports. The results file adds mean per-class accuracy, per-class accuracy / precision /
recall / F1 from the confusion matrix, and the protocol block: dataset, splits, views, frames, sampling, input
size, checkpoint + sha256, git commit, time taken.
"""
import time
from datetime import datetime, timezone
from pathlib import Path

import hydra
import numpy as np
import pytorch_lightning as pl
from rich.console import Console
from rich.table import Table

from src.clip.plots import write_confusion_png
from src.core.atomic import write_json
from src.core.errors import UserError
from src.core.provenance import file_sha256, git_commit

SPLITS = ("test", "val")


def results_stem(dataset: dict, split: str, tag: str | None = None) -> str:
    """"ucf101-split1-test-4x3views-8f" (a class subset, as in base-to-novel, or a protocol pass's `tag` follows the
    dataset name)."""
    subset = f"-{tag or dataset['class_subset']}" if tag or dataset.get("class_subset") else ""
    return (f"{dataset['name']}{subset}-split{dataset['split']}-{split}-"
            f"{dataset['num_temporal_views']}x{dataset['num_spatial_views']}views-{dataset['num_frames']}f")


def run_pass(module, datamodule, split: str, trainer_cfg: dict) -> tuple[dict, bool]:
    """One Lightning test / validate pass -> (the module's figures: top1, top5, loss, confusion matrix, …, synced
    across DDP ranks; whether this process is rank zero, the one that writes)."""
    if split not in SPLITS:
        raise UserError(f"split={split}: choose test or val")
    if split == "test" and not datamodule.has_test:
        raise UserError(f"dataset {datamodule.dataset_cfg['name']}: no test split (no test list / test videos); "
                        "evaluate with split=val or give the dataset a test list")
    collector = ResultCollector()
    trainer = hydra.utils.instantiate(trainer_cfg, logger=False, callbacks=[collector], enable_checkpointing=False,
                                      _convert_="all")
    loop = trainer.test if split == "test" else trainer.validate
    loop(module, datamodule=datamodule, verbose=False)
    assert collector.results, "the evaluation pass published no result"
    return collector.results[-1].eval, trainer.is_global_zero


class ResultCollector(pl.Callback):
    """Receives what the module publishes at the end of a pass (src.core.epoch_result)."""

    def __init__(self):
        self.results: list = []

    def on_epoch_result(self, trainer, result) -> None:
        self.results.append(result)


def class_figures(confusion: list[list[int]], names: list[str]) -> tuple[dict, float]:
    """Per-class accuracy (= recall), precision, F1 and support from the (C, C) matrix (rows true, columns
    predicted); and the mean per-class accuracy over the classes that have test videos."""
    cm = np.asarray(confusion, dtype=np.float64)                  # (C, C)
    hits, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(hits), where=precision + recall > 0)
    per_class = {name: {"accuracy": float(recall[i]), "precision": float(precision[i]), "recall": float(recall[i]),
                        "f1": float(f1[i]), "support": int(support[i])} for i, name in enumerate(names)}
    mean_class = float(recall[support > 0].mean()) if (support > 0).any() else 0.0
    return per_class, mean_class


def protocol_block(config: dict, split: str, checkpoint: Path | None, seconds: float, run_dir: Path | None) -> dict:
    dataset, backbone, method = config["dataset"], config["backbone"], config["method"]
    interval = dataset["frame_interval"]
    return {
        "run": str(run_dir) if run_dir else None,
        "method": method["name"],
        "backbone": backbone["name"], "pretrained": backbone["pretrained"],
        "dataset": dataset["name"], "root": str(dataset["root"]), "class_subset": dataset.get("class_subset"),
        "official_split": dataset["split"], "eval_split": split, "k_val": dataset["k_val"],
        "num_frames": dataset["num_frames"], "num_temporal_views": dataset["num_temporal_views"],
        "num_spatial_views": dataset["num_spatial_views"], "frame_interval": interval,
        "sampling": ("TSN segments over the whole video, segment centres" if interval is None
                     else f"dense clips, stride {interval}, evenly placed"),
        "input_size": backbone["image_size"], "spatial_views": "crops along the long side",
        "view_aggregation": "mean of per-view logits",
        "checkpoint": str(checkpoint) if checkpoint else None,
        "checkpoint_sha256": file_sha256(checkpoint) if checkpoint else None,
        "git_commit": git_commit(),
        "seconds": round(seconds, 3),
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def evaluate(module, datamodule, config: dict, split: str, out_dir: Path, *, checkpoint: Path | None,
             run_dir: Path | None, protocol_extra: dict | None = None, tag: str | None = None) -> tuple[dict, Path]:
    """Run the pass, write the results JSON + confusion-matrix PNG into `out_dir`; -> (results, json path).
    `protocol_extra` is added to (and overrides) the protocol block; `tag` goes into the file name (results_stem)."""
    start = time.monotonic()
    figures, writes = run_pass(module, datamodule, split, config["trainer"])
    names = list(module.hparams.class_names)
    per_class, mean_class = class_figures(figures["confusion_matrix"], names)
    results = {
        "top1": figures["top1"], "top5": figures["top5"], "mean_class_accuracy": mean_class,
        "loss": figures["loss"], "precision_macro": figures["precision_macro"],
        "recall_macro": figures["recall_macro"], "f1_macro": figures["f1_macro"],
        "num_videos": figures["num_videos"], "bad_videos": figures["bad_videos"],
        "per_class": per_class, "class_names": names, "confusion_matrix": figures["confusion_matrix"],
        "protocol": {**protocol_block(config, split, checkpoint, time.monotonic() - start, run_dir),
                     **(protocol_extra or {})},
    }
    stem = results_stem(config["dataset"], split, tag)
    path = Path(out_dir) / f"{stem}.json"
    if not writes:  # another DDP rank: rank zero writes the same figures
        return results, path
    write_json(path, results)
    write_confusion_png(figures["confusion_matrix"], names, Path(out_dir) / f"{stem}-confusion.png",
                        title=f"{stem}: top-1 {results['top1']:.3f}")
    return results, path


def print_results(results: dict, path: Path, worst: int = 5) -> None:
    """The headline figures, the protocol and the weakest classes as rich tables."""
    console = Console()
    protocol = results["protocol"]
    table = Table(title=f"evaluation ({path})", show_header=False)
    for key in ("top1", "top5", "mean_class_accuracy", "f1_macro", "num_videos", "bad_videos"):
        value = results[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for key in ("method", "dataset", "eval_split", "num_frames", "num_temporal_views", "num_spatial_views",
                "checkpoint", "seconds"):
        table.add_row(key, str(protocol[key]))
    console.print(table)
    ranked = sorted(results["per_class"].items(), key=lambda item: item[1]["accuracy"])[:worst]
    weakest = Table(title=f"{len(ranked)} weakest classes")
    for column in ("class", "accuracy", "precision", "f1", "videos"):
        weakest.add_column(column)
    for name, row in ranked:
        weakest.add_row(name, f"{row['accuracy']:.3f}", f"{row['precision']:.3f}", f"{row['f1']:.3f}",
                        str(row["support"]))
    console.print(weakest)
