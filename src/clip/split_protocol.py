"""Evaluation protocols of several passes (conf/protocol/): top-1 / top-5 as mean ± std over the passes.

    protocol=zero_shot_k600    `class_lists`: one pass per class-list file over the evaluated split: the videos of
                               the listed classes, scored with only the listed class names (Kinetics-600 zero-shot:
                               three splits of 160 of the 220 classes new in K600)
    protocol=zero_shot_splits  `official_splits`: one pass per dataset.split (UCF-101 / HMDB-51's three test splits),
                               every class

Every class list is read and matched to the dataset's class names before the first pass, so a list naming a class
the dataset lacks stops the command with one line and nothing written. Each pass writes its own results file
(src/clip/evaluation.py); then `<out>/<dataset>-<protocol>-<split>-<T>x<S>views-<F>f.json` gets the per-pass
figures, their mean and std, and the protocol block (the lists and their sha256, the source of the splits).
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pytorch_lightning.utilities import rank_zero_only
from rich.console import Console
from rich.table import Table

from src.clip.data.class_lists import class_list_path, match_class_list, read_class_list
from src.clip.data.index import READERS
from src.clip.evaluation import evaluate as evaluate_model
from src.clip.evaluation import print_results
from src.core.atomic import write_json
from src.core.errors import UserError
from src.core.provenance import file_sha256

FIGURES = ("top1", "top5")                        # summarised as mean ± std over the passes
SPLIT_FORMATS = [fmt for fmt, reader in READERS.items() if "split" in reader.settings]   # formats with official splits


@dataclass(frozen=True)
class Pass:
    name: str            # "split_1" (the class list's file stem) or "split2" (official split 2)
    dataset: dict        # the dataset section this pass reads
    tag: str | None      # in its results file's name, after the dataset name (None: the standard name)
    extra: dict          # added to its results file's protocol block


# (dataset section) -> (module, the config its results file records, checkpoint or None); built per pass, because
# each pass scores its own class names
ModelFor = Callable[[object], tuple[object, dict, Path | None]]


def plan_passes(protocol: dict, dataset: dict, class_names: Callable[[], list[str]]) -> list[Pass]:
    """The passes of `protocol` on `dataset`; `class_names()` reads the dataset's (raw) class names."""
    lists, splits = protocol["class_lists"], protocol["official_splits"]
    if lists and splits:
        raise UserError(f"protocol={protocol['name']}: set protocol.class_lists or protocol.official_splits, not both")
    if splits:
        if dataset["format"] not in SPLIT_FORMATS:
            raise UserError(f"protocol={protocol['name']}: dataset {dataset['name']} (format {dataset['format']}) "
                            f"has no official splits; use it with {' or '.join(SPLIT_FORMATS)}")
        return [Pass(f"split{split}", {**dataset, "split": split}, None, {}) for split in splits]
    if dataset["class_subset"] is not None:
        raise UserError(f"protocol={protocol['name']} scores the classes of its class lists: evaluate with "
                        f"dataset.class_subset=null (not {dataset['class_subset']})")
    files = [class_list_path(spec) for spec in lists]
    listed = [read_class_list(path) for path in files]   # every file read before the dataset is
    names = class_names()
    passes = []
    for path, entries in zip(files, listed):
        matched = match_class_list(path, entries, names, dataset["name"])
        # restrict_classes keeps the `base` classes, here the list's (base-to-novel drops a published split in the
        # same way); the results file's protocol block names the list instead of "base"
        passes.append(Pass(path.stem, {**dataset, "class_subset": "base", "base_classes": matched},
                           f"{protocol['name']}-{path.stem}",
                           {"class_subset": "class_list", "class_list": str(path), "class_list_sha256":
                            file_sha256(path), "class_list_classes": len(matched)}))
    return passes


def evaluate_protocol(config: dict, dataset: dict, datamodule_for: Callable[[dict], object], model_for: ModelFor,
                      out_dir: Path, *, run_dir: Path | None, extra: dict | None = None) -> dict:
    """Evaluate under config["protocol"]: one pass (standard) -> its results; several -> the summary."""
    protocol, split = config["protocol"], config["split"]
    if not protocol["class_lists"] and not protocol["official_splits"]:
        datamodule = datamodule_for(dataset)
        module, pass_config, checkpoint = model_for(datamodule)
        results, path = evaluate_model(module, datamodule, pass_config, split, out_dir, checkpoint=checkpoint,
                                       run_dir=run_dir, protocol_extra=extra)
        print_results(results, path)
        return results
    passes = plan_passes(protocol, dataset, lambda: datamodule_for(dataset).splits.raw_class_names)
    rows = []
    for one in passes:
        datamodule = datamodule_for(one.dataset)
        module, pass_config, checkpoint = model_for(datamodule)
        results, path = evaluate_model(module, datamodule, pass_config, split, out_dir, checkpoint=checkpoint,
                                       run_dir=run_dir, protocol_extra={**(extra or {}), **one.extra}, tag=one.tag)
        rows.append({"split": one.name, **{key: results[key] for key in FIGURES},
                     "num_classes": len(results["class_names"]), "num_videos": results["num_videos"],
                     "results_file": str(path), **{k: v for k, v in one.extra.items() if k.startswith("class_list")}})
    summary = summarise(protocol, rows)
    summary["protocol"] = {**summary["protocol"], **_common_block(results["protocol"]), **(extra or {})}
    path = Path(out_dir) / f"{dataset['name']}-{protocol['name']}-{split}-{dataset['num_temporal_views']}x" \
                           f"{dataset['num_spatial_views']}views-{dataset['num_frames']}f.json"
    if rank_zero_only.rank == 0:  # under DDP every rank has the figures; rank zero writes, as for each pass
        write_json(path, summary)
    print_summary(summary, path)
    return summary


def summarise(protocol: dict, rows: list[dict]) -> dict:
    """Per-pass rows -> {"top1_mean", "top1_std", "top5_mean", "top5_std", "splits": rows, "protocol": {…}}."""
    figures = {}
    for key in FIGURES:
        values = np.array([row[key] for row in rows], dtype=np.float64)
        figures[f"{key}_mean"] = float(values.mean())
        figures[f"{key}_std"] = float(values.std(ddof=protocol["std_ddof"]))
    block = {"name": protocol["name"], "source": protocol["source"], "passes": len(rows),
             "std": f"numpy.std over the passes, ddof={protocol['std_ddof']}",
             "class_lists": protocol["class_lists"], "official_splits": protocol["official_splits"]}
    return {**figures, "splits": rows, "protocol": block}


def _common_block(block: dict) -> dict:
    """What every pass shares, from the last pass's protocol block (model, frames, views, checkpoint)."""
    keys = ("run", "method", "backbone", "pretrained", "dataset", "root", "eval_split", "num_frames",
            "num_temporal_views", "num_spatial_views", "frame_interval", "sampling", "input_size", "checkpoint",
            "checkpoint_sha256", "git_commit", "templates")
    return {key: block[key] for key in keys if key in block}


def print_summary(summary: dict, path: Path) -> None:
    """One row per pass, then `mean ± std`, as a rich table."""
    table = Table(title=f"{summary['protocol']['name']} ({path})")
    for column in ("split", "classes", "videos", "top-1", "top-5"):
        table.add_column(column)
    for row in summary["splits"]:
        table.add_row(row["split"], str(row["num_classes"]), str(row["num_videos"]), f"{row['top1']:.4f}",
                      f"{row['top5']:.4f}")
    table.add_row("mean ± std", "", "", *(f"{summary[f'{key}_mean']:.4f} ± {summary[f'{key}_std']:.4f}"
                                         for key in FIGURES))
    Console().print(table)
