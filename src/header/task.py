"""task=header builder: cfg -> TaskParts(HeaderModule, HeaderDataModule, run folder, artifact writer, summary)."""
import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from src.core.parts import TaskParts
from src.header.artifacts import HeaderRunArtifacts
from src.header.data.datamodule import HeaderDataModule
from src.header.ema import ema_callbacks
from src.header.feature_cache import clip_cache_mode, clip_feature_caching
from src.header.module import HeaderModule

log = logging.getLogger(__name__)

SUMMARY_KEYS = ("epoch", "val_f1", "val_auc", "val_pr_auc", "val_mcc", "val_precision", "val_recall", "val_acc",
                "val_loss")


def build(cfg: DictConfig) -> TaskParts:
    config = OmegaConf.to_container(cfg, resolve=True)
    datamodule = HeaderDataModule(config["dataset"], mean=config["backbone"]["mean"], std=config["backbone"]["std"],
                                  seed=config["seed"])
    # The module needs the class counts now, before the Trainer (whose fit calls prepare_data on one process per
    # node) exists, so the data is prepared here first. Every process does it: under torchrun or SLURM all ranks
    # build at once with no process group to wait at, and prepare_data is idempotent and atomic (temp folder +
    # rename, atomic CSV writes), so concurrent calls leave one complete dataset.
    datamodule.prepare_data()
    module = HeaderModule.from_config(config, datamodule.class_counts)
    averaging = ema_callbacks(config["finetune"])  # finetune.ema_decay, checked before the run folder
    run_dir = Path(config["run_dir"])
    if rank_zero_only.rank == 0:  # other DDP ranks never write here
        run_dir.mkdir(parents=True, exist_ok=True)
    data = datamodule.describe()
    log.info("header data: %s", data)
    writer = HeaderRunArtifacts(run_dir, config, datamodule.val_table.rows)
    callbacks = [writer, *averaging]  # after the writer: validation (and the best weights) use the average
    cache_mode = clip_cache_mode(config)
    if cache_mode != "off":  # finetune=frozen only: the frozen backbone's features, computed once
        callbacks.insert(0, clip_feature_caching(config, cache_mode))
    return TaskParts(module=module, datamodule=datamodule, run_dir=run_dir, callbacks=callbacks,
                     summary=lambda: summarise(run_dir, data))


def summarise(run_dir: Path, data: dict) -> dict:
    """Headline figures, read back from best_metrics.json (so it also works after ddp_spawn)."""
    best_file = Path(run_dir) / "best_metrics.json"
    if not best_file.is_file():
        return {"run_dir": str(run_dir), **data}
    best = json.loads(best_file.read_text())
    figures = {("best_epoch" if k == "epoch" else k): best[k] for k in SUMMARY_KEYS}
    threshold = best["best_threshold"]
    return {**figures, "best_threshold": threshold["threshold"], "val_f1_at_best_threshold": threshold["f1"],
            "checkpoint": str(Path(run_dir) / best["checkpoint"]), "run_dir": str(run_dir), **data}
