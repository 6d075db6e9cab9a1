"""Base-to-novel generalisation (ViFi-CLIP, CoCoOp): train on the base classes, test on base and on novel classes.

A run with `dataset.class_subset=base` (experiment=base_to_novel) trains K-shot on the base half. At the end its
best weights are evaluated on the base test videos scored with the base class names, and on the novel test videos
scored with the novel class names only; the run's summary (and so a sweep's result.json) gets base_top1,
novel_top1 and their harmonic mean `hm`; `<run folder>/base_to_novel.json` keeps them with the two results files.
"""
import logging
from pathlib import Path

from src.clip.data.datamodule import VideoDataModule
from src.clip.evaluation import evaluate
from src.clip.run_facts import clip_run_facts
from src.clip.run_loading import load_clip_run
from src.core.atomic import write_json
from src.core.model_card import write_model_card

log = logging.getLogger(__name__)


def harmonic_mean(base: float, novel: float) -> float:
    return 0.0 if base + novel == 0 else 2.0 * base * novel / (base + novel)


def evaluate_base_and_novel(run_dir: Path, config: dict) -> dict:
    """-> {"base_top1", "novel_top1", "hm"}; results files in <run_dir>/eval/, the figures in base_to_novel.json."""
    figures, files = {}, {}
    # One process (rank zero, after fit): a DDP trainer config would wait for ranks that have finished.
    trainer = {**config["trainer"], "devices": 1, "strategy": "auto", "num_nodes": 1}
    for subset in ("base", "novel"):
        dataset = {**config["dataset"], "class_subset": subset}
        datamodule = VideoDataModule(dataset=dataset, backbone=config["backbone"], seed=config["seed"],
                                     cache_dir=Path(config["paths"]["cache_dir"]))
        run = load_clip_run(str(run_dir), Path(config["paths"]["models_dir"]), overrides={"dataset": dataset},
                            class_names=datamodule.class_names)
        results, path = evaluate(run.module, datamodule, {**run.config, "trainer": trainer}, "test",
                                 Path(run_dir) / "eval", checkpoint=run.checkpoint, run_dir=Path(run_dir))
        figures[f"{subset}_top1"], files[subset] = results["top1"], str(path)
    figures["hm"] = harmonic_mean(figures["base_top1"], figures["novel_top1"])
    write_json(Path(run_dir) / "base_to_novel.json", {**figures, "results_files": files})
    write_model_card(run_dir, clip_run_facts(run_dir))  # after fit: the card gains the base and novel results
    log.info("base-to-novel: base %.4f, novel %.4f, HM %.4f", figures["base_top1"], figures["novel_top1"],
             figures["hm"])
    return figures
