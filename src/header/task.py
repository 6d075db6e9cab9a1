"""task=header: its Task (what the entry points call: train, evaluate, predict, detect, export, check_dataset) and the
training builder: cfg -> TaskParts(HeaderModule, HeaderDataModule, run folder, artifact writer, summary)."""
import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from src.core.cost import CostSubject
from src.core.dataset_report import DatasetReport
from src.core.export_folder import ExportTarget
from src.core.inference_engine import check_engine, engine_settings
from src.core.manifest import present_files
from src.core.parts import TaskParts
from src.core.prediction_io import find_inputs, resolve_device
from src.core.task import Task
from src.header.artifacts import HeaderRunArtifacts
from src.header.data.check import check_header_dataset
from src.header.data.datamodule import HeaderDataModule, check_sampling
from src.header.detection.inputs import check_detect_inputs, check_detect_view
from src.header.detection.pipeline import run_detection
from src.header.ema import ema_callbacks
from src.header.evaluation import evaluate as evaluate_header
from src.header.export import export_header
from src.header.feature_cache import clip_cache_mode, clip_feature_caching
from src.header.footage.clip_settings import clips_settings_of, read_clip_settings, write_clip_settings
from src.header.module import HeaderModule
from src.header.prediction import SUFFIXES, predict_header
from src.header.profiling import profile_subject
from src.header.run_facts import header_run_facts
from src.header.run_loading import (
    header_export_target,
    read_best_metrics,
    read_header_checkpoint,
    read_header_config,
    resolve_header_run_dir,
)

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
    # The class-weighted loss weighs by what an epoch draws (dataset.neg_pos_ratio subsamples the non-headers).
    module = HeaderModule.from_config(config, datamodule.epoch_class_counts)
    averaging = ema_callbacks(config["finetune"])  # finetune.ema_decay, checked before the run folder
    run_dir = Path(config["run_dir"])
    if rank_zero_only.rank == 0:  # other DDP ranks never write here
        run_dir.mkdir(parents=True, exist_ok=True)
        # How clips made from footage were cut (their summary.json): src.detect cuts its windows the same way.
        write_clip_settings(run_dir, clips_settings_of(datamodule.train_table.rows["file"].tolist()))
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


# What a finished task=header run folder holds, by role (run.json's `files`; only those present are listed).
RUN_FILES = {"config": "config.yaml", "best_metrics": "best_metrics.json", "val_predictions": "val_predictions.csv",
             "epoch_metrics": "metrics_epoch.csv", "last_checkpoint": "last.ckpt", "lightning_best": "best.ckpt",
             "metrics": "logs/metrics.csv", "status": "status.json", "eval": "eval",
             "clip_settings": "clip_settings.json"}


class HeaderTask(Task):
    name = "header"
    predict_suffixes = SUFFIXES

    def build(self, cfg: DictConfig) -> TaskParts:
        return build(cfg)

    def profile_subject(self, cfg: DictConfig) -> CostSubject:
        return profile_subject(cfg)

    def evaluate(self, cfg: DictConfig, overrides: list[str]) -> dict:
        return evaluate_header(cfg, overrides)

    def predict(self, cfg: dict) -> list[dict]:
        return predict_header(cfg, find_inputs(cfg["inputs"], SUFFIXES), Path(cfg["output"]))

    def detect(self, cfg: dict) -> dict:
        return run_detection(cfg)

    def export(self, cfg: dict) -> dict:
        return export_header(cfg)

    def check_dataset(self, dataset: dict, check: dict, cache_dir: Path) -> DatasetReport:
        return check_header_dataset(dataset, check)   # clips are listed in CSVs: no index to cache

    def check_training_inputs(self, cfg: DictConfig) -> None:
        check_sampling(cfg.dataset)

    def check_run(self, spec: str, cfg: DictConfig) -> None:
        run_dir = resolve_header_run_dir(spec, Path(cfg.paths.report_dir))
        read_header_config(run_dir)
        best = read_best_metrics(run_dir)
        read_header_checkpoint(run_dir / best["checkpoint"])

    def run_folder(self, spec: str, cfg: DictConfig) -> Path:
        return resolve_header_run_dir(spec, Path(cfg.paths.report_dir))

    def check_detect(self, cfg: DictConfig) -> None:
        check_detect_inputs(cfg)
        self.check_run(str(cfg.run), cfg)
        check_engine(engine_settings(cfg.detect), resolve_device(str(cfg.detect.device), key="detect.device"),
                     lambda: self.export_target(str(cfg.run), cfg), "detect.")
        run_dir = resolve_header_run_dir(str(cfg.run), Path(cfg.paths.report_dir))
        check_detect_view(cfg, read_clip_settings(run_dir), read_header_config(run_dir)["dataset"])

    def export_target(self, spec: str, cfg) -> ExportTarget:
        return header_export_target(resolve_header_run_dir(spec, Path(cfg["paths"]["report_dir"])))

    def run_files(self, run_dir: Path) -> dict:
        files = present_files(run_dir, RUN_FILES)
        best = Path(run_dir) / "best_metrics.json"
        try:  # the best epoch's weights move as training goes on: best_metrics.json says where they are now
            files["best_weights"] = json.loads(best.read_text())["checkpoint"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return files

    def describe_run(self, config: dict) -> dict:
        return {"backbone": config["backbone"]["name"], "finetune": config["finetune"]["name"],
                "dataset": config["dataset"]["name"]}

    def run_facts(self, run_dir: Path) -> dict:
        return header_run_facts(run_dir)


TASK = HeaderTask()
