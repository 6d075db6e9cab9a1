"""task=clip builder: cfg -> VideoDataModule + ClipVideoModule + the run-folder writer."""
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from src.clip.artifacts import ClipRunArtifacts, load_checkpoint, run_summary
from src.clip.base_to_novel import evaluate_base_and_novel
from src.clip.data.datamodule import VideoDataModule
from src.clip.feature_cache import FrameFeatureCaching, caching_plan
from src.clip.models.backbone import require_clip_backbone
from src.clip.module import ClipVideoModule
from src.core.errors import UserError
from src.core.parts import TaskParts

log = logging.getLogger(__name__)


def build(cfg: DictConfig) -> TaskParts:
    config = OmegaConf.to_container(cfg, resolve=True)
    require_clip_backbone(config["backbone"])  # before the data path reads backbone keys a CSN config lacks
    datamodule = VideoDataModule(dataset=config["dataset"], backbone=config["backbone"], seed=cfg.seed)
    module = ClipVideoModule(cfg=config, class_names=datamodule.class_names)
    if not any(p.requires_grad for p in module.model.parameters()):
        raise UserError(f"method={config['method']['name']} has nothing to train; evaluate it with `python -m "
                        f"src.evaluate method={config['method']['name']} dataset={config['dataset']['name']}`")
    if cfg.continue_from:
        continue_from(module, resolve_continue_from(cfg.continue_from, Path(cfg.paths.models_dir)))
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [ClipRunArtifacts(run_dir, config=config, data_description=datamodule.describe())]
    cache_eval, cache_train = caching_plan(config, module.model)
    if cache_eval:
        callbacks.insert(0, FrameFeatureCaching(config, cache_train))
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
    if meta["backbone"]["name"] != module.hparams.cfg["backbone"]["name"]:
        raise UserError(
            f"continue_from={path}: trained on backbone {meta['backbone']['name']}, this run uses "
            f"{module.hparams.cfg['backbone']['name']}; pick the same backbone"
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
