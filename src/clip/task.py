"""task=clip: its Task (what the entry points call) and the training builder: cfg -> VideoDataModule +
ClipVideoModule + the run-folder writer."""
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from src.clip.artifacts import ClipRunArtifacts, load_checkpoint, run_summary
from src.clip.base_to_novel import evaluate_base_and_novel
from src.clip.data.check import check_clip_dataset
from src.clip.data.datamodule import VideoDataModule
from src.clip.eval_run import evaluate as evaluate_clip
from src.clip.export import export_clip
from src.clip.feature_cache import caching_plan, frame_feature_caching, refuse_cache_for_finetuning
from src.clip.feature_cache_tool import cache_features
from src.clip.frame_store_tool import cache_frames
from src.clip.models.backbone import check_pretrained, require_clip_backbone
from src.clip.module import ClipVideoModule
from src.clip.prediction import predict_clip
from src.clip.profiling import profile_subject
from src.clip.run_facts import clip_run_facts
from src.clip.run_loading import clip_export_target, read_checkpoint, read_run_config, resolve_run_dir
from src.core.cost import CostSubject
from src.core.dataset_report import DatasetReport
from src.core.errors import UserError
from src.core.export_folder import ExportTarget
from src.core.manifest import present_files
from src.core.override_checks import folder_problem
from src.core.parts import TaskParts
from src.core.prediction_io import VIDEO_SUFFIXES, find_inputs
from src.core.task import Task

log = logging.getLogger(__name__)


def build(cfg: DictConfig) -> TaskParts:
    config = OmegaConf.to_container(cfg, resolve=True)
    require_clip_backbone(config["backbone"])  # before the data path reads backbone keys a CSN config lacks
    refuse_cache_for_finetuning(config["method"]["name"], config["dataset"]["feature_cache"])
    datamodule = VideoDataModule(dataset=config["dataset"], backbone=config["backbone"], seed=cfg.seed,
                                 cache_dir=Path(config["paths"]["cache_dir"]))
    # The module needs the class names now, before the Trainer (whose fit calls prepare_data on one process per
    # node) exists, so the data is prepared here first. Every process does it: under torchrun or SLURM all ranks
    # build at once with no process group to wait at, and prepare_data is idempotent and atomic (temp folder +
    # rename), so concurrent calls leave one complete dataset.
    datamodule.prepare_data()
    datamodule.frames.check(datamodule.videos_by_split())  # frame_store=read: all stored, before anything is written
    module = ClipVideoModule.from_config(config, datamodule.class_names)
    if not any(p.requires_grad for p in module.model.parameters()):
        raise UserError(f"method={config['method']['name']} has nothing to train; evaluate it with `python -m "
                        f"src.evaluate method={config['method']['name']} dataset={config['dataset']['name']}`")
    if cfg.continue_from:
        continue_from(module, resolve_continue_from(cfg.continue_from, Path(cfg.paths.models_dir)))
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [ClipRunArtifacts(run_dir, config=config, class_names=datamodule.class_names,
                                  data_description=datamodule.describe())]
    cache_mode, cache_eval, cache_train = caching_plan(config, module.model)
    if cache_eval:
        callbacks.insert(0, frame_feature_caching(config, cache_mode, cache_train))
    return TaskParts(module, datamodule, run_dir, callbacks=callbacks, summary=lambda: summarise(run_dir, config))


def summarise(run_dir: Path, config: dict) -> dict:
    """The run's headline figures; a base-class run (base-to-novel) adds base / novel top-1 and their HM."""
    if config["dataset"]["class_subset"] != "base":
        return run_summary(run_dir)
    return {**run_summary(run_dir), **evaluate_base_and_novel(run_dir, config)}


def resolve_continue_from(spec: str, models_dir: Path) -> Path:
    """"method/dataset/run_id" (under paths.models_dir), a run folder, or a checkpoint.pth file."""
    for candidate in (Path(spec), models_dir / spec):
        if candidate.is_file():
            return candidate
        if (candidate / "checkpoint.pth").is_file():
            return candidate / "checkpoint.pth"
    raise UserError(
        f"continue_from={spec}: found neither {spec} nor {models_dir / spec}/checkpoint.pth; "
        f"give 'method/dataset/run_id' of a finished run (see {models_dir}) or a path to a checkpoint.pth"
    )


def continue_from(module: ClipVideoModule, path: Path) -> None:
    """Load a previous run's learned tensors; class-specific parts for other classes are re-initialised."""
    payload = load_checkpoint(path)
    meta = payload["meta"]
    if meta["backbone"]["name"] != module.hparams.backbone["name"]:
        raise UserError(
            f"continue_from={path}: trained on backbone {meta['backbone']['name']}, this run uses "
            f"{module.hparams.backbone['name']}; pick the same backbone"
        )
    report = module.model.load_learned(payload["state_dict"], list(meta["class_names"]))
    log.info("continue_from %s (%s on %s, epoch %s):", path, meta["method"], meta["dataset"], meta["epoch"])
    for kind, items in report.items():
        if items:
            log.info("  %-22s %s", kind, ", ".join(items))
    if report["loaded_by_class_name"]:
        log.info("  (class-specific parts matched by class name: %d of %d classes loaded, %d re-initialised)",
                 len(report["matched_classes"]), len(module.hparams.class_names),
                 len(report["reinitialised_classes"]))


def _check_backbone_weights(cfg: DictConfig) -> None:
    """backbone.pretrained (a local file that fits, or a hub tag that is cached or reachable) before any folder."""
    if cfg.backbone.kind == "clip":   # another kind is refused with its own line by check_backbone_kind
        check_pretrained(OmegaConf.to_container(cfg.backbone, resolve=True))


# What a finished task=clip run folder holds, by role (run.json's `files`; only those present are listed).
RUN_FILES = {"config": "config.json", "best_weights": "checkpoint.pth", "last_checkpoint": "last.ckpt",
             "lightning_best": "best.ckpt", "training_log": "training_log.json",
             "validation_results": "validation_results.json", "test_results": "test_results.json",
             "metrics": "logs/metrics.csv", "status": "status.json", "eval": "eval"}


class ClipTask(Task):
    name = "clip"
    predict_suffixes = VIDEO_SUFFIXES

    def build(self, cfg: DictConfig) -> TaskParts:
        return build(cfg)

    def profile_subject(self, cfg: DictConfig) -> CostSubject:
        return profile_subject(cfg)

    def evaluate(self, cfg: DictConfig, overrides: list[str]) -> dict:
        return evaluate_clip(cfg, overrides)

    def predict(self, cfg: dict) -> list[dict]:
        return predict_clip(cfg, find_inputs(cfg["inputs"], VIDEO_SUFFIXES), Path(cfg["output"]))

    def export(self, cfg: dict) -> dict:
        return export_clip(cfg)

    def check_dataset(self, dataset: dict, check: dict, cache_dir: Path) -> DatasetReport:
        return check_clip_dataset(dataset, check, cache_dir)

    def cache_features(self, cfg: DictConfig) -> dict:
        return cache_features(cfg)

    def cache_frames(self, cfg: DictConfig) -> dict:
        return cache_frames(cfg)

    def check_cache_features(self, cfg: DictConfig) -> None:
        refuse_cache_for_finetuning(cfg.method.name, "auto")   # the tool always writes a cache

    def check_run(self, spec: str, cfg: DictConfig) -> None:
        run_dir = resolve_run_dir(spec, Path(cfg.paths.models_dir))
        read_checkpoint(run_dir / "checkpoint.pth")  # first, as src/clip/eval_run.py reads them
        read_run_config(run_dir)

    def run_folder(self, spec: str, cfg: DictConfig) -> Path:
        return resolve_run_dir(spec, Path(cfg.paths.models_dir))

    def check_without_run(self, cfg: DictConfig, command: str) -> None:
        """Zero-shot CLIP needs no run; its evaluation results go to zero_shot_dir."""
        if cfg.method.name != "zero_shot":
            raise UserError(f"run= is required for method={cfg.method.name}: give a trained run ('method/dataset/"
                            f"run_id' under {cfg.paths.models_dir}, or its folder), or use method=zero_shot without a run")
        if command == "evaluate" and (problem := folder_problem(Path(cfg.zero_shot_dir))):
            raise UserError(f"zero_shot_dir={cfg.zero_shot_dir}: cannot create this folder ({problem}); point "
                            "paths.models_dir at a writable place")
        _check_backbone_weights(cfg)

    def check_training_inputs(self, cfg: DictConfig) -> None:
        refuse_cache_for_finetuning(cfg.method.name, cfg.dataset.feature_cache)
        _check_backbone_weights(cfg)
        if cfg.continue_from:
            path = resolve_continue_from(str(cfg.continue_from), Path(cfg.paths.models_dir))
            trained_on = load_checkpoint(path)["meta"]["backbone"]["name"]
            if trained_on != cfg.backbone.name:
                raise UserError(f"continue_from={path}: trained on backbone {trained_on}, this run uses "
                                f"{cfg.backbone.name}; pick the same backbone")

    def export_target(self, spec: str, cfg) -> ExportTarget:
        return clip_export_target(resolve_run_dir(spec, Path(cfg["paths"]["models_dir"])))

    def run_files(self, run_dir: Path) -> dict:
        return present_files(run_dir, RUN_FILES)

    def describe_run(self, config: dict) -> dict:
        return {"method": config["method"]["name"], "backbone": config["backbone"]["name"],
                "dataset": config["dataset"]["name"]}

    def run_facts(self, run_dir: Path) -> dict:
        return clip_run_facts(run_dir)


TASK = ClipTask()
