"""The task=header run folder, `report/header_experiments/<run_name>/`:

- config.yaml                  the full resolved config
- metrics_epoch.csv            one row per validated epoch (EPOCH_COLUMNS)
- best_metrics.json            the best epoch by val F1 (ties: higher ROC-AUC, then lower val loss), its metrics,
                               the F1-optimal threshold beside the decision threshold (task.threshold), and the
                               checkpoint path (relative to the run folder)
- val_predictions.csv          the best epoch's prediction for every validation clip (PREDICTION_COLUMNS)
- checkpoints/best_epoch_<N>.pt  the best epoch's Header Net weights + metadata (loads with weights_only=True)
- loss_curves.png, roc_curve.png, pr_curve.png, confusion_matrix.png   (at the end of fit / validate)
- MODEL_CARD.md                src/core/model_card.py (at the end of fit / validate)
- cost.json                    what the net costs (src/core/run_cost.py), at the end of fit
Epochs are numbered from 1 (the seed's convention); a validate-only run reports epoch 0.
Written from the module's `HeaderEpochResult`s (src.core.epoch_result: `on_epoch_result`). Only rank zero writes;
every file is written atomically; the best checkpoint is written before the JSON that points at it.
"""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
from omegaconf import OmegaConf

from src.core.atomic import save_torch, write_csv, write_json, write_text
from src.core.model_card import write_model_card
from src.core.run_cost import write_run_cost
from src.header.plots import write_plots
from src.header.profiling import header_cost_subject
from src.header.run_facts import header_run_facts

log = logging.getLogger(__name__)

EPOCH_COLUMNS = ["epoch", "train_loss", "val_loss", "val_acc", "val_precision", "val_recall", "val_f1", "val_auc",
                 "lr_backbone", "lr_head"]
PREDICTION_COLUMNS = ["row_idx", "video_id", "half", "frame", "path", "label", "loss", "prob_header",
                      "prob_non_header", "pred_label"]
METADATA = ("video_id", "half", "frame")
CHECKPOINT_FORMAT = 1


class HeaderRunArtifacts(pl.Callback):
    def __init__(self, run_dir: Path, config: dict, val_rows: pd.DataFrame):
        """`val_rows`: the validation CSV's rows (row_idx, path and whichever metadata columns it has)."""
        self.run_dir = Path(run_dir)
        self.config = config
        self.val_rows = val_rows[[c for c in ("row_idx", "path", *METADATA) if c in val_rows.columns]].copy()
        self.records: list[dict] = []
        self.best: dict | None = None

    # --- Lightning hooks -------------------------------------------------------------------------------------
    def setup(self, trainer, pl_module, stage: str) -> None:  # fit and validate-only runs alike
        if trainer.is_global_zero:
            write_text(self.run_dir / "config.yaml", OmegaConf.to_yaml(self.config))

    def on_epoch_result(self, trainer, result) -> None:
        if not trainer.is_global_zero:
            return
        fitting = result.stage == "fit"
        epoch = result.epoch + 1 if fitting else result.epoch
        row = self._epoch_row(epoch, result.train_loss, result.figures, result.lrs)
        self.records = [r for r in self.records if r["epoch"] != epoch] + [row]
        write_csv(self.run_dir / "metrics_epoch.csv", pd.DataFrame(self.records, columns=EPOCH_COLUMNS))
        figures = result.figures
        # Ties (a small validation set saturates at F1 = AUC = 1 early) go to the lower validation loss: the
        # epoch that separates the classes with the most confidence, not the first to get them right.
        if self.best is None or (figures["f1"], figures["auc"], -figures["loss"]) > \
                (self.best["val_f1"], self.best["val_auc"], -self.best["val_loss"]):
            self._write_best(epoch, row, result)
        if not fitting:
            self.write_plots()
            self.write_card()

    def on_fit_end(self, trainer, pl_module) -> None:
        # cost.json before the card, which shows it. Every rank measures (src/core/run_cost.py), rank zero writes.
        write_run_cost(self.run_dir, header_cost_subject(pl_module, self.config), pl_module.device,
                       self.config["run_cost"], trainer.is_global_zero)
        if trainer.is_global_zero:
            self.write_plots()
            self.write_card()

    def state_dict(self) -> dict:
        return {"records": self.records, "best": self.best}  # resumes (ckpt_path=…) keep the history and the best

    def load_state_dict(self, state_dict: dict) -> None:
        self.records, self.best = list(state_dict["records"]), state_dict["best"]

    # --- the files ---------------------------------------------------------------------------------------------
    @staticmethod
    def _epoch_row(epoch: int, train_loss: float | None, figures: dict, lrs: dict) -> dict:
        return {"epoch": epoch, "train_loss": train_loss, **{f"val_{k}": figures[k] for k in
                ("loss", "acc", "precision", "recall", "f1", "auc")}, **lrs}

    def _write_best(self, epoch: int, row: dict, result) -> None:
        previous = self.best["checkpoint"] if self.best else None
        checkpoint = f"checkpoints/best_epoch_{epoch}.pt"
        figures = result.figures
        best = {
            "epoch": epoch, "train_loss": row["train_loss"],
            **{f"val_{k}": figures[k] for k in ("loss", "acc", "precision", "recall", "f1", "auc", "pr_auc", "mcc")},
            "threshold": result.threshold,
            "best_threshold": result.best_threshold,  # threshold, f1, precision, recall (chosen on val)
            "num_val_clips": int(len(result.predictions["row_idx"])),
            "checkpoint": checkpoint,
        }
        save_torch(self.run_dir / checkpoint, {
            "format": CHECKPOINT_FORMAT,
            "epoch": epoch,
            "state_dict": {k: v.detach().cpu().clone() for k, v in result.weights.items()},
            "metrics": best,
            "config": self.config,
        })
        write_csv(self.run_dir / "val_predictions.csv", self.predictions_frame(result.predictions, result.threshold))
        write_json(self.run_dir / "best_metrics.json", best)
        if previous and previous != checkpoint:
            (self.run_dir / previous).unlink(missing_ok=True)  # one best checkpoint, as the run folder promises
        self.best = best
        log.info("epoch %d is the best so far: val F1 %.4f (best threshold %.2f -> F1 %.4f)", epoch, best["val_f1"],
                 best["best_threshold"]["threshold"], best["best_threshold"]["f1"])

    def predictions_frame(self, predictions: dict[str, np.ndarray], threshold: float) -> pd.DataFrame:
        """One row per validation clip, joined with the CSV's path and metadata by row_idx."""
        frame = pd.DataFrame({
            "row_idx": predictions["row_idx"].astype(np.int64),
            "label": predictions["label"].astype(np.int64),
            "loss": predictions["loss"],
            "prob_header": predictions["prob_header"],
            "prob_non_header": 1.0 - predictions["prob_header"],
            "pred_label": (predictions["prob_header"] >= threshold).astype(np.int64),
        }).merge(self.val_rows, on="row_idx", how="left", validate="one_to_one")
        return frame[[c for c in PREDICTION_COLUMNS if c in frame.columns]].sort_values("row_idx")

    def write_card(self) -> None:
        if self.best is not None:
            write_model_card(self.run_dir, header_run_facts(self.run_dir))

    def write_plots(self) -> None:
        predictions = self.run_dir / "val_predictions.csv"
        if self.best is None or not predictions.is_file():
            return
        epochs = pd.DataFrame(self.records, columns=EPOCH_COLUMNS)
        write_plots(self.run_dir, epochs, pd.read_csv(predictions), self.best)
