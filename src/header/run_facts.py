"""A task=header run folder as plain facts (src/core/run_facts.py): for its MODEL_CARD.md and src.report's rows.

Read from config.yaml (plain sections, safe YAML), run.json, best_metrics.json (the best epoch on the validation
CSV) and every eval/*.json (src/header/evaluation.py: a CSV, its frames and the run's thresholds). Nothing is
instantiated.
"""
from pathlib import Path

from src.core.manifest import read_manifest
from src.core.run_config import read_run_config
from src.core.run_facts import eval_files, read_cost, read_json_dict

SECTIONS = ("backbone", "dataset", "finetune", "task", "seed")
INTENDED_USE = ("Header / no-header classification of short soccer clips cut like its training clips (frames, "
                "size), and src.detect over match videos; the decision threshold is the run's (best_metrics.json).")


def header_run_facts(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    config = read_run_config(run_dir / "config.yaml", SECTIONS, "task=header")
    manifest = read_manifest(run_dir) or {}
    dataset, backbone = config["dataset"], config["backbone"]
    protocol = {"k_shot": "all", "classes": "all", "frames": dataset["num_frames"], "views": "1x1",
                "input_size": dataset["input_size"]}
    best = read_json_dict(run_dir / "best_metrics.json")
    # The split of a header result is the CSV it was scored on (the run's val_csv, or the CSV src.evaluate took).
    results = [{"source": "best", "split": Path(str(dataset["val_csv"])).stem, "dataset": dataset["name"],
                "protocol": protocol, "details": {"epoch": best.get("epoch"), "threshold": best.get("threshold")},
                "figures": {k: best.get(f"val_{k}") for k in ("f1", "auc", "pr_auc", "acc", "mcc")}}]
    for path in eval_files(run_dir):
        results.append(_eval_result(read_json_dict(path), path, dataset["name"], protocol))
    ckpt = backbone.get("ckpt")
    return {
        "task": "header", "run_id": run_dir.name, "run_dir": str(run_dir), "status": manifest.get("status"),
        "created": manifest.get("created"), "seed": config["seed"],
        "git_commit": (manifest.get("versions") or {}).get("git_commit"),
        "method": f"header_net-{config['finetune']['name']}", "backbone": backbone["name"],
        "weights": "random init (backbone.ckpt: null)" if ckpt is None else f"local checkpoint {ckpt}",
        "random_init": ckpt is None, "dataset": dataset["name"], "synthetic": "synthetic" in dataset["name"],
        "protocol": protocol, "primary": "f1", "results": results, "cost": read_cost(run_dir),
        "intended_use": INTENDED_USE,
        "limits": ["F1 at the run's decision threshold; headers are rare, so accuracy alone says little."],
    }


def _eval_result(record: dict, path: Path, dataset: str, protocol: dict) -> dict:
    block = record.get("protocol") or {}
    at = record.get("at_0.5") or {}
    return {"source": f"eval:{path.stem}", "split": Path(str(block.get("csv"))).stem, "dataset": dataset,
            "protocol": {**protocol, "frames": block.get("num_frames"), "input_size": block.get("input_size")},
            "details": {"threshold": at.get("threshold"), "csv": block.get("csv")},
            "figures": {"f1": at.get("f1"), "auc": record.get("auc"), "pr_auc": record.get("pr_auc"),
                        "acc": at.get("acc"), "mcc": at.get("mcc")}}
