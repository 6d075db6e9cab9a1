"""A task=clip run folder as plain facts (src/core/run_facts.py): for its MODEL_CARD.md and src.report's rows.

Read from config.json (plain sections, src/core/run_config.py), run.json, validation_results.json (the best
epoch), test_results.json and every eval/*.json (each with its own protocol block). Nothing is instantiated.
"""
from pathlib import Path

from src.core.manifest import read_manifest
from src.core.run_config import read_run_config
from src.core.run_facts import eval_files, read_cost, read_json_dict

SECTIONS = ("method", "backbone", "dataset", "seed")   # of config.json, read as plain data

FIGURES = ("top1", "top5", "mean_class_accuracy", "f1_macro")
INTENDED_USE = ("Video action classification over the class names it was trained (or is evaluated) with, on clips "
                "sampled as its protocol states; research and comparison of prompt-tuning methods.")


def weights_source(pretrained: str | None) -> str:
    """backbone.pretrained: an open_clip tag, a local file, or null (random init)."""
    if pretrained is None:
        return "random init (backbone.pretrained: null)"
    if "/" in pretrained or Path(pretrained).suffix:
        return f"local file {pretrained}"
    return f"open_clip tag '{pretrained}'"


def training_protocol(dataset: dict) -> dict:
    return {"k_shot": dataset.get("k_train") or "all", "classes": dataset.get("class_subset") or "all",
            "frames": dataset["num_frames"], "views": f"{dataset['num_temporal_views']}x{dataset['num_spatial_views']}",
            "official_split": dataset.get("split")}


def clip_run_facts(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    config = read_run_config(run_dir / "config.json", SECTIONS, "task=clip")
    manifest = read_manifest(run_dir) or {}
    dataset, backbone = config["dataset"], config["backbone"]
    protocol = training_protocol(dataset)
    return {
        "task": "clip", "run_id": run_dir.name, "run_dir": str(run_dir), "status": manifest.get("status"),
        "created": manifest.get("created"), "seed": config["seed"],
        "git_commit": (manifest.get("versions") or {}).get("git_commit"), "method": config["method"]["name"],
        "backbone": backbone["name"], "weights": weights_source(backbone.get("pretrained")),
        "random_init": backbone.get("pretrained") is None, "dataset": dataset["name"],
        "synthetic": "synthetic" in dataset["name"], "protocol": protocol, "primary": "top1",
        "results": _results(run_dir, dataset["name"], protocol), "cost": read_cost(run_dir),
        "intended_use": INTENDED_USE, "limits": [],
    }


def _results(run_dir: Path, dataset: str, protocol: dict) -> list[dict]:
    results = []
    for source, name in (("best", "validation_results.json"), ("test", "test_results.json")):
        if (run_dir / name).is_file():
            record = read_json_dict(run_dir / name)
            views = f"{record.get('temporal_views', '?')}x{record.get('spatial_views', '?')}"
            results.append({"source": source, "split": record.get("split", source), "dataset": dataset,
                            "protocol": {**protocol, "views": views}, "details": {"epoch": record.get("best_epoch")},
                            "figures": _figures(record)})
    for path in eval_files(run_dir):
        record = read_json_dict(path)
        block = record.get("protocol") or {}
        results.append({
            "source": f"eval:{path.stem}", "split": block.get("eval_split", "?"),
            "dataset": block.get("dataset", dataset),
            "protocol": {"k_shot": protocol["k_shot"], "classes": block.get("class_subset") or "all",
                         "frames": block.get("num_frames"),
                         "views": f"{block.get('num_temporal_views')}x{block.get('num_spatial_views')}",
                         "official_split": block.get("official_split")},
            "details": {"checkpoint": block.get("checkpoint"), "evaluated_at": block.get("evaluated_at")},
            "figures": _figures(record)})
    return results


def _figures(record: dict) -> dict:
    return {key: record.get(key) for key in FIGURES if key in record}
