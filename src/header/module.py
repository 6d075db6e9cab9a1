"""LightningModule for task=header: Header Net (CSN or VideoMAE v2) as a binary header / no-header classifier.

Logs train/loss, train/acc, train/f1 and, per validation, val/loss, val/acc, val/precision, val/recall, val/f1,
val/auc, val/pr_auc, val/mcc (at task.threshold) plus val/best_threshold and val/f1_at_best_threshold. Validation
predictions of all ranks are gathered (each CSV row once) and published with the epoch's figures as a
`HeaderEpochResult` to the artifact writers (src.core.epoch_result).
"""
from dataclasses import dataclass

import hydra
import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torchmetrics import MeanMetric, MetricCollection, SumMetric
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

from src.core.epoch_result import EpochResult, publish
from src.header.losses import build_loss
from src.header.metrics import best_f1_threshold, binary_metrics
from src.header.models.net import build_header_net
from src.header.models.videomae import add_drop_path
from src.header.param_groups import apply_finetune_mode, build_param_groups


@dataclass(frozen=True)
class HeaderEpochResult(EpochResult):
    """A finished validation pass (stage "fit" during training, "validate" alone); `weights`: the whole net."""
    figures: dict                  # loss, acc, precision, recall, f1, auc, pr_auc, mcc (at `threshold`)
    best_threshold: dict           # the F1-optimal threshold on these predictions: threshold, f1, precision, recall
    predictions: dict              # numpy arrays over the validation clips: row_idx, label, prob_header, loss
    threshold: float               # the decision threshold (task.threshold)
    train_loss: float | None       # stage "fit": mean training loss of the epoch over all ranks
    lrs: dict                      # lr_backbone (top backbone group; None when frozen) and lr_head, now


class HeaderModule(pl.LightningModule):
    SECTIONS = ("backbone", "dataset", "finetune", "task", "optimizer", "scheduler", "loss")  # config sections read

    def __init__(self, backbone: dict, dataset: dict, finetune: dict, task: dict, optimizer: dict, scheduler: dict,
                 loss: dict, class_counts: list[int]):
        """Config sections as plain dicts (`optimizer` / `scheduler`: Hydra partials); `class_counts`: training
        clips per class [non-header, header] (for the class-weighted loss)."""
        super().__init__()
        self.save_hyperparameters()  # plain dicts + list only: checkpoints load with weights_only=True
        self.threshold = float(task["threshold"])
        self.net = build_header_net(backbone, num_frames=dataset["num_frames"], input_size=dataset["input_size"])
        add_drop_path(self.net.backbone, finetune["drop_path_rate"])  # stochastic depth (VideoMAE only)
        self._frozen_modules = apply_finetune_mode(self.net, mode=finetune["name"],
                                                   unfreeze_blocks=finetune["unfreeze_blocks"])
        self.loss_fn = build_loss(loss, class_counts)
        self.train_loss = MeanMetric()  # per-clip mean over the epoch, synced across ranks (in the epoch result)
        self.train_metrics = MetricCollection({"acc": BinaryAccuracy(), "f1": BinaryF1Score()}, prefix="train/")
        self.train_loss.persistent(True)  # in checkpoints: a mid-epoch resume continues the epoch's sums
        self.train_metrics.persistent(True)
        # Clips skipped at load time (unreadable with dataset.check_clips=false), per stage.
        self.train_bad_clips, self.val_bad_clips = SumMetric(), SumMetric()
        self.train_bad_clips.persistent(True)
        # fed the already gathered predictions: no second sync
        self.val_metrics = binary_metrics(threshold=self.threshold, sync_on_compute=False)
        self._val_batches: list[dict[str, torch.Tensor]] = []
        # Lightning keeps each submodule's mode as it finds it (it does not call .train() at fit start): set it now.
        self.train()

    @classmethod
    def from_config(cls, config: dict, class_counts: list[int]) -> "HeaderModule":
        """The module of a resolved config (a plain dict: a run's config.yaml, or OmegaConf.to_container)."""
        return cls(**{k: config[k] for k in cls.SECTIONS}, class_counts=list(class_counts))

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode (BatchNorm statistics and dropout untouched) whatever Lightning asks."""
        super().train(mode)
        for module in getattr(self, "_frozen_modules", []):
            module.eval()
        return self

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.net(clips)  # (B, 3, T, S, S) -> (B, 2) logits

    def batch_logits(self, batch: dict) -> torch.Tensor:
        """(B, 2) logits of a pixel batch ("video") or of a cached-feature batch ("features", the frozen
        backbone's output from dataset.feature_cache: only the trainable pool part and the head run)."""
        if "features" in batch:
            return self.net.head_forward(batch["features"])  # (B, D) -> (B, 2)
        return self.net(batch["video"])                      # (B, 3, T, S, S) -> (B, 2)

    def _count_bad(self, stage: str, batch: dict) -> bool:
        """Count the clips the loader skipped (unreadable, dataset.check_clips=false); True if any are left."""
        if "num_bad" in batch:
            bad = getattr(self, f"{stage}_bad_clips")
            bad.update(batch["num_bad"].to(self.device, torch.float32))
            # Logged as the metric object: Lightning syncs it at the epoch's end in its own order on every rank
            # (computing it in an epoch-end hook ran a collective that rank 0's progress bar did not: DDP hung).
            self.log(f"{stage}/bad_clips", bad, on_step=False, on_epoch=True)
        return batch["label"].numel() > 0

    def on_train_epoch_start(self) -> None:
        self.train_bad_clips.reset()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        if not self._count_bad("train", batch):
            return None  # every clip of the batch was unreadable
        logits = self.batch_logits(batch)                     # (B, 2)
        losses = self.loss_fn(logits, batch["label"])         # (B,)
        loss = losses.mean()
        self.train_loss.update(losses.detach())
        self.train_metrics.update(logits.detach().float().softmax(-1)[:, 1], batch["label"])
        batch_size = batch["label"].shape[0]
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=batch_size,
                 sync_dist=True)
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True, batch_size=batch_size)
        return loss

    def on_train_epoch_end(self) -> None:
        self.train_loss.reset()  # after the epoch result took it (validation runs before this hook)

    def _epoch_train_loss(self) -> float | None:
        """Mean training loss of the current epoch over all ranks (collective: every rank must call it)."""
        if self.train_loss.update_count == 0:
            return None
        return float(self.train_loss.compute())

    def on_validation_epoch_start(self) -> None:
        self._val_batches = []
        self.val_bad_clips.reset()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if not self._count_bad("val", batch):
            return
        logits = self.batch_logits(batch).float()             # (B, 2)
        self._val_batches.append({
            "row_idx": batch["row_idx"], "label": batch["label"],
            "prob": logits.softmax(-1)[:, 1], "loss": self.loss_fn(logits, batch["label"]),
        })

    def on_validation_epoch_end(self) -> None:
        if not self._val_batches:
            return
        local = {k: torch.cat([b[k] for b in self._val_batches]) for k in self._val_batches[0]}
        if self.trainer.world_size > 1:  # (world, n) -> (world * n,): every rank sees every prediction
            local = {k: self.all_gather(v).flatten(0, 1) for k, v in local.items()}
        # The DistributedSampler pads with repeated rows so ranks get equal shares: keep each CSV row once.
        _, first = np.unique(local["row_idx"].cpu().numpy(), return_index=True)
        keep = torch.as_tensor(first, device=local["row_idx"].device)
        row_idx, labels, probs, losses = (local[k][keep] for k in ("row_idx", "label", "prob", "loss"))
        figures = {name: float(value) for name, value in self.val_metrics(probs, labels).items()}
        self.val_metrics.reset()
        figures["loss"] = float(losses.mean())
        best = best_f1_threshold(probs, labels, fallback=self.threshold)
        self.log_dict({f"val/{k}": v for k, v in figures.items()}, sync_dist=True)  # equal on every rank already
        self.log_dict({"val/best_threshold": best["threshold"], "val/f1_at_best_threshold": best["f1"]},
                      sync_dist=True)
        if self.trainer.sanity_checking:
            return
        fitting = self.trainer.state.fn == TrainerFn.FITTING
        publish(self.trainer, HeaderEpochResult(
            stage="fit" if fitting else "validate", epoch=self.current_epoch, weights=self.net.state_dict(),
            figures=figures, best_threshold=best, threshold=self.threshold,
            predictions={"row_idx": row_idx.cpu().numpy(), "label": labels.cpu().numpy(),
                         "prob_header": probs.cpu().numpy(), "loss": losses.cpu().numpy()},
            train_loss=self._epoch_train_loss() if fitting else None,  # collective: every rank computes it
            lrs=self._current_lrs()))

    def configure_optimizers(self):
        """The `optimizer` / `scheduler` partials of conf/task/header.yaml on the head / backbone groups."""
        finetune = self.hparams.finetune
        groups = build_param_groups(self.net, lr_backbone=finetune["lr_backbone"], lr_head=finetune["lr_head"],
                                    layer_decay=finetune["layer_decay"])
        optimizer = hydra.utils.instantiate(self.hparams.optimizer)(params=groups)
        scheduler = hydra.utils.instantiate(self.hparams.scheduler)(
            optimizer, total_steps=int(self.trainer.estimated_stepping_batches), max_epochs=self.trainer.max_epochs)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": self.hparams.task["scheduler_interval"]}}

    def _current_lrs(self) -> dict[str, float | None]:
        """The learning rates now: the top backbone group's (None when the backbone is frozen) and the head's."""
        groups = self.trainer.optimizers[0].param_groups if self.trainer.optimizers else []
        backbone = [g["lr"] for g in groups if g["name"].startswith("backbone.")]
        head = [g["lr"] for g in groups if g["name"].startswith("head")]
        return {"lr_backbone": max(backbone) if backbone else None, "lr_head": head[0] if head else None}
