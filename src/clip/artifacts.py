"""The task=clip run folder: models/{method}/{dataset}/{run_id}/ (the original scripts' four files + extras):

- config.json               the full resolved config
- training_log.json         one record per epoch (epoch, train loss/acc, val loss/top1/top5, lr, seconds)
- checkpoint.pth            best-validation-accuracy learned tensors + what is needed to rebuild the model
- validation_results.json   best epoch, top-1, top-5, per-class accuracy, confusion matrix, videos/frames/views
(+ test_results.json when the best weights are evaluated on the test split.)
- MODEL_CARD.md             src/core/model_card.py, at the end of fit, test and a validate-only run
- cost.json                 what the model costs (src/core/run_cost.py), at the end of fit
Only rank zero writes; every file is written atomically.
"""
import json
import logging
import time
from pathlib import Path

import pytorch_lightning as pl

from src.clip.plots import write_run_pictures
from src.clip.profiling import clip_cost_subject
from src.clip.run_facts import clip_run_facts
from src.core.atomic import save_torch, write_json
from src.core.checkpoint_io import load_weights_only
from src.core.errors import UserError
from src.core.model_card import write_model_card
from src.core.run_cost import write_run_cost

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


def checkpoint_payload(weights: dict, config: dict, class_names: list[str], epoch: int, val_top1: float) -> dict:
    """What checkpoint.pth holds: tensors + plain metadata only (loads with weights_only=True)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in weights.items()},
        "meta": {
            "method": config["method"]["name"],
            "backbone": {"name": config["backbone"]["name"], "pretrained": config["backbone"]["pretrained"]},
            "dataset": config["dataset"]["name"],
            "class_names": list(class_names),
            "epoch": epoch,
            "val_top1": val_top1,
            "config": config,
        },
    }


class ClipRunArtifacts(pl.Callback):
    """Writes the run folder from the module's `ClipEpochResult`s (src.core.epoch_result: `on_epoch_result`)."""

    def __init__(self, run_dir: Path, config: dict, class_names: list[str], data_description: dict):
        self.run_dir = Path(run_dir)
        self.config = config
        self.class_names = list(class_names)
        self.data = data_description
        self.records: list[dict] = []
        self.best_top1 = float("-inf")
        self._epoch_start = time.monotonic()

    def setup(self, trainer, pl_module, stage: str) -> None:  # fit and validate-only runs alike
        if trainer.is_global_zero:
            write_json(self.run_dir / "config.json", self.config)

    # Resuming (ckpt_path=…): Lightning restores the epochs already logged and their best score from here.
    def state_dict(self) -> dict:
        return {"records": self.records, "best_top1": self.best_top1}

    def load_state_dict(self, state: dict) -> None:
        self.records, self.best_top1 = list(state["records"]), float(state["best_top1"])

    # The model card follows each stage's files (a test pass adds test_results.json after fit).
    def on_fit_end(self, trainer, pl_module) -> None:
        # cost.json before the card, which shows it. Every rank measures (src/core/run_cost.py), rank zero writes.
        write_run_cost(self.run_dir, clip_cost_subject(pl_module.model, self.config, f"{len(self.class_names)} classes"),
                       pl_module.device, self.config["run_cost"], trainer.is_global_zero)
        self._write_card(trainer)

    def on_test_end(self, trainer, pl_module) -> None:
        self._write_card(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "validate":  # validate_only runs; during fit, on_fit_end writes it
            self._write_card(trainer)

    def _write_card(self, trainer) -> None:
        if trainer.is_global_zero and (self.run_dir / "validation_results.json").is_file():
            write_model_card(self.run_dir, clip_run_facts(self.run_dir))

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_start = time.monotonic()

    def on_epoch_result(self, trainer, result) -> None:
        if not trainer.is_global_zero:
            return
        if result.stage == "fit":
            self._fit_epoch(trainer, result)
        elif result.stage == "validate":  # validate_only runs (no fit): the validation pass is the result
            write_json(self.run_dir / "validation_results.json", self._results(result.eval, "val"))
        elif result.stage == "test":
            write_json(self.run_dir / "test_results.json", self._results(result.eval, "test"))

    def _fit_epoch(self, trainer, result) -> None:
        val = result.eval
        record = {
            "epoch": result.epoch,
            "optimizer_steps": trainer.global_step,  # cumulative; accumulation makes it batches / accumulate
            **result.train,
            "val_loss": val["loss"] if val else None,
            "val_top1": val["top1"] if val else None,
            "val_top5": val["top5"] if val else None,
            "lr": result.lr,
            "seconds": round(time.monotonic() - self._epoch_start, 3),
        }
        self.records.append(record)
        write_json(self.run_dir / "training_log.json", self.records)
        if val and val["top1"] > self.best_top1:
            self.best_top1 = val["top1"]
            save_torch(self.run_dir / "checkpoint.pth",
                       checkpoint_payload(result.weights, self.config, self.class_names, result.epoch, val["top1"]))
            write_json(self.run_dir / "validation_results.json", self._results(val, "val"))
            log.info("epoch %d: new best val top-1 %.4f -> %s", result.epoch, val["top1"], self.run_dir)
        write_run_pictures(self.run_dir, self.records)  # curves.png + the best epoch's confusion_matrix.png

    def _results(self, figures: dict, split: str) -> dict:
        names = self.class_names
        return {
            "split": split,
            "best_epoch": figures["epoch"],
            "top1": figures["top1"],
            "top5": figures["top5"],
            "loss": figures["loss"],
            "precision_macro": figures["precision_macro"],
            "recall_macro": figures["recall_macro"],
            "f1_macro": figures["f1_macro"],
            "f1_micro": figures["f1_micro"],
            "per_class_accuracy": dict(zip(names, figures["per_class_acc"])),
            "class_names": names,
            "confusion_matrix": figures["confusion_matrix"],
            "num_videos": figures["num_videos"],
            "bad_videos": figures["bad_videos"],
            "frames_per_view": self.data["frames_per_view"],
            "temporal_views": self.data["num_temporal_views"],
            "spatial_views": self.data["num_spatial_views"] if split != "train" else 1,
            "frames_per_video": self.data["frames_per_view"] * self.data["views_per_video"]["eval"],
            "data": self.data,
        }


def run_summary(run_dir: Path) -> dict:
    """Headline figures of a finished run, read back from its files (works after ddp_spawn too)."""
    results = json.loads((Path(run_dir) / "validation_results.json").read_text())
    summary = {"val_top1": results["top1"], "val_top5": results["top5"], "best_epoch": results["best_epoch"]}
    log_file = Path(run_dir) / "training_log.json"
    epochs = json.loads(log_file.read_text()) if log_file.is_file() else []
    # Undecodable videos skipped, per split (training: the most in one epoch; every epoch meets the same files).
    summary["train_bad_videos"] = max((r.get("bad_videos") or 0 for r in epochs), default=0)
    summary["val_bad_videos"] = results["bad_videos"]
    test_file = Path(run_dir) / "test_results.json"
    if test_file.is_file():
        test = json.loads(test_file.read_text())
        summary.update(test_top1=test["top1"], test_top5=test["top5"], test_bad_videos=test["bad_videos"])
    summary["run_dir"] = str(run_dir)
    return summary


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint.pth (never runs code); anything else is a UserError naming the file."""
    payload = load_weights_only(path, if_missing="no such file; give a run's checkpoint.pth",
                                if_unreadable="give a run's checkpoint.pth")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or "meta" not in payload:
        hint = " (a Lightning .ckpt resumes with ckpt_path=…)" if isinstance(payload, dict) and "loops" in payload else ""
        raise UserError(f"{path}: not a task=clip checkpoint.pth of this project{hint}; give a run's checkpoint.pth")
    return payload
