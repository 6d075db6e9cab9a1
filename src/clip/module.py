"""LightningModule for task=clip: a frozen CLIP + one of the six prompt-tuning methods, as a video classifier."""
import logging
import math
from dataclasses import dataclass

import hydra
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn
from torchmetrics import MeanMetric, SumMetric
from torchmetrics.classification import MulticlassAccuracy

from src.clip.metrics import eval_metrics
from src.clip.models.backbone import load_clip
from src.clip.models.registry import build_method
from src.clip.text_window import TextFeatureWindow
from src.clip.videomix import mix_generator, soft_cross_entropy, videomix
from src.core.epoch_result import EpochResult, publish
from src.core.errors import UserError
from src.core.resume import gather_per_rank, pick_rank

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipEpochResult(EpochResult):
    """What a finished pass hands the artifact writers (src.core.epoch_result). `weights`: the method's learned
    tensors (not the frozen CLIP)."""
    train: dict | None = None      # stage "fit": train_loss, train_acc of the epoch (every rank's batches)
    eval: dict | None = None       # the val (fit: only when validation ran this epoch) or test pass's figures
    lr: float | None = None        # stage "fit": the first parameter group's learning rate at the epoch's end


class ClipVideoModule(pl.LightningModule):
    SECTIONS = ("method", "backbone", "dataset", "task", "optimizer", "scheduler")  # the config sections it reads

    def __init__(self, method: dict, backbone: dict, dataset: dict, task: dict, optimizer: dict, scheduler: dict,
                 seed: int, class_names: list[str]):
        """Config sections as plain dicts (`optimizer` / `scheduler`: Hydra partials); `seed` seeds VideoMix."""
        super().__init__()
        # Plain dicts + list only: the Lightning checkpoint then loads with weights_only=True.
        self.save_hyperparameters()
        # Checkpoints hold only the learned tensors; the frozen CLIP is rebuilt from the backbone section.
        self.strict_loading = False
        self.method_cfg, self.dataset_cfg, self.task_cfg = method, dataset, task
        clip, tokenizer = load_clip(backbone)
        self.model = build_method(method, clip, tokenizer, class_names, dataset["num_frames"])
        num_classes = len(class_names)
        self.train_loss, self.train_acc = MeanMetric(), MulticlassAccuracy(num_classes, average="micro")
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_metrics, self.test_metrics = eval_metrics(num_classes), eval_metrics(num_classes)
        # Videos used and undecodable videos skipped, per stage ("train_seen", "val_bad", …).
        self.counts = nn.ModuleDict({f"{s}_{k}": SumMetric() for s in ("train", "val", "test") for k in ("seen", "bad")})
        # The epoch's running training figures go into checkpoints: a mid-epoch resume continues the sums.
        for metric in (self.train_loss, self.train_acc, self.counts["train_seen"], self.counts["train_bad"]):
            metric.persistent(True)
        self._last_eval: dict[str, dict] = {}  # stage -> figures of the last finished pass
        self._eval_text: torch.Tensor | None = None
        self._mix_gen: torch.Generator | None = None
        self._mix_gen_state: torch.Tensor | None = None  # from a resumed checkpoint, applied at fit start
        self._text_window: TextFeatureWindow | None = None

    @classmethod
    def from_config(cls, config: dict, class_names: list[str]) -> "ClipVideoModule":
        """The module of a resolved config (a plain dict: a run's config.json, or OmegaConf.to_container)."""
        return cls(**{k: config[k] for k in cls.SECTIONS}, seed=config["seed"], class_names=list(class_names))

    def forward(self, video: torch.Tensor, text_features: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(video, text_features)  # (B, V, T, 3, H, W) -> (B, C)

    def logits(self, batch: dict, text_features: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C) from pixels, or from cached frame features when the batch carries them (dataset.feature_cache)."""
        if "features" in batch:
            return self.model.forward_features(batch["features"], text_features)
        return self.model(batch["video"], text_features)

    # ---- training -------------------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        # On the CPU whatever the device (src/clip/videomix.py): a checkpoint's state resumes on any device.
        # Resumed: VideoMix continues its stream where the checkpoint left it.
        self._mix_gen = mix_generator(self.hparams.seed + self.global_rank, self._mix_gen_state)
        self._mix_gen_state = None
        share = (self.task_cfg["text_once_per_step"] and self.trainer.accumulate_grad_batches > 1
                 and not self.model.text_features_depend_on_video and self.trainer.world_size == 1
                 and str(self.trainer.precision) in self.task_cfg["text_once_per_step_precisions"])
        self._text_window = TextFeatureWindow() if share else None

    def on_before_optimizer_step(self, optimizer) -> None:
        if self._text_window is not None:
            self._text_window.backward()

    def on_train_epoch_start(self) -> None:
        for metric in (self.train_loss, self.train_acc, self.counts["train_bad"], self.counts["train_seen"]):
            metric.reset()

    def training_step(self, batch: dict, batch_idx: int):
        self._count("train", batch)
        labels = batch["label"]
        if labels.numel() == 0:
            return None  # every video of the batch was undecodable: nothing to learn from
        kind = self.method_cfg["videomix"]
        if kind:  # pixels only: a run with VideoMix never caches its training features
            num_classes = len(self.hparams.class_names)
            video, targets = videomix(batch["video"], labels, num_classes, kind, self.method_cfg["videomix_prob"],
                                      self._mix_gen)
            logits = self(video)
            loss = soft_cross_entropy(logits, targets)
        else:
            text = self._text_window.features(self.model.class_text_features) if self._text_window else None
            logits = self.logits(batch, text)
            loss = F.cross_entropy(logits, labels)
        loss = loss + self.model.extra_loss()
        self.train_loss.update(loss.detach(), weight=labels.numel())
        self.train_acc.update(logits.detach(), labels)
        if batch_idx % self.trainer.log_every_n_steps == 0:  # self.log costs ~10% of a small step: not every step
            step_acc = (logits.detach().argmax(-1) == labels).float().mean()
            self.log_dict({"train/loss": loss.detach(), "train/acc": step_acc}, prog_bar=True,
                          batch_size=labels.numel())
        return loss

    def on_train_epoch_end(self) -> None:
        # Metric computes are collective: every rank runs this before the writers get the result.
        train = {"train_loss": self.train_loss.compute().item(), "train_acc": self.train_acc.compute().item(),
                 "bad_videos": int(self.counts["train_bad"].compute().item())}
        val = self._last_eval.get("val")
        if val is not None and val["epoch"] != self.current_epoch:
            val = None  # no validation this epoch
        publish(self.trainer, ClipEpochResult(
            stage="fit", epoch=self.current_epoch, weights=self.model.trainable_state_dict(), train=train, eval=val,
            lr=self.trainer.optimizers[0].param_groups[0]["lr"]))
        self._check_bad("train")

    # ---- evaluation -----------------------------------------------------------------------------------------
    def _eval_start(self, stage: str) -> None:
        loss, metrics = self._eval(stage)
        for metric in (loss, metrics, self.counts[f"{stage}_bad"], self.counts[f"{stage}_seen"]):
            metric.reset()
        # Class text features of most methods do not depend on the video: encode them once per pass.
        self._eval_text = None
        if not self.model.text_features_depend_on_video:
            with torch.no_grad():
                self._eval_text = self.model.class_text_features()

    def _eval_step(self, stage: str, batch: dict) -> None:
        self._count(stage, batch)
        labels = batch["label"]
        if labels.numel() == 0:
            return
        logits = self.logits(batch, self._eval_text)
        loss, metrics = self._eval(stage)
        loss.update(F.cross_entropy(logits, labels), weight=labels.numel())
        metrics.update(logits, labels)

    def _eval_end(self, stage: str) -> None:
        loss, metrics = self._eval(stage)
        figures = {k: v.cpu() for k, v in metrics.compute().items()}
        figures = {
            "epoch": self.current_epoch,
            "loss": loss.compute().item(),
            **{k: v.item() for k, v in figures.items() if v.ndim == 0},
            "per_class_acc": figures["per_class_acc"].tolist(),
            "confusion_matrix": figures["confusion_matrix"].long().tolist(),
            "num_videos": int(self.counts[f"{stage}_seen"].compute().item()),
            "bad_videos": int(self.counts[f"{stage}_bad"].compute().item()),
        }
        if not self.trainer.sanity_checking:
            self._last_eval[stage] = figures
        self.log_dict({f"{stage}/loss": figures["loss"], f"{stage}/acc": figures["top1"],
                       f"{stage}/top5": figures["top5"], f"{stage}/f1": figures["f1_macro"]}, prog_bar=stage == "val")
        self._eval_text = None
        if stage == "test" or self.trainer.state.fn == TrainerFn.VALIDATING:  # fit: published at the epoch's end
            publish(self.trainer, ClipEpochResult(stage="test" if stage == "test" else "validate",
                                                  epoch=self.current_epoch, weights=self.model.trainable_state_dict(),
                                                  eval=figures))
        self._check_bad(stage)

    def _eval(self, stage: str):
        return (self.val_loss, self.val_metrics) if stage == "val" else (self.test_loss, self.test_metrics)

    def on_validation_epoch_start(self) -> None:
        self._eval_start("val")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step("val", batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_end("val")

    def on_test_epoch_start(self) -> None:
        self._eval_start("test")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    # ---- bad videos -----------------------------------------------------------------------------------------
    def _count(self, stage: str, batch: dict) -> None:
        self.counts[f"{stage}_bad"].update(batch["num_bad"].to(self.device, torch.float32))
        self.counts[f"{stage}_seen"].update(torch.tensor(float(batch["label"].numel()), device=self.device))

    def _check_bad(self, stage: str) -> None:
        bad, seen = self.counts[f"{stage}_bad"].compute().item(), self.counts[f"{stage}_seen"].compute().item()
        limit = self.dataset_cfg["max_bad_fraction"]
        if bad and bad / (bad + seen) > limit:
            raise UserError(
                f"{int(bad)} of {int(bad + seen)} {stage} videos could not be decoded (> dataset.max_bad_fraction="
                f"{limit}); see the warnings above for the files, fix or remove them"
            )

    # ---- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        """The `optimizer` / `scheduler` partials of conf/task/clip.yaml on the method's trainable parameters."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        assert params, "the method has no trainable parameters"
        scale = self.lr_scale()
        optimizer = hydra.utils.instantiate(self.hparams.optimizer, lr=self.hparams.optimizer["lr"] * scale)(
            params=params)
        interval = self.task_cfg["scheduler_interval"]
        steps_per_epoch = 1 if interval == "epoch" else math.ceil(
            self.trainer.estimated_stepping_batches / max(self.trainer.max_epochs, 1))
        scheduler = hydra.utils.instantiate(self.hparams.scheduler, eta_min=self.hparams.scheduler["eta_min"] * scale)(
            optimizer, steps_per_epoch=steps_per_epoch)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": interval}}

    def lr_scale(self) -> float:
        """Linear scaling: (batch x accumulation x devices) / task.lr_reference_batch; 1 when that is null."""
        reference = self.task_cfg["lr_reference_batch"]
        if reference is None:
            return 1.0
        batch = self.dataset_cfg["batch_size"] * self.trainer.accumulate_grad_batches * self.trainer.world_size
        log.info("lr scaled by %d / %d (effective batch / task.lr_reference_batch)", batch, reference)
        return batch / reference

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        states = checkpoint.get("videomix_generator")
        self._mix_gen_state = pick_rank(states, self.global_rank) if states else None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self._mix_gen is not None:  # every rank's stream, like the RNG (src/core/resume.py)
            checkpoint["videomix_generator"] = gather_per_rank(self._mix_gen.get_state())
        # Keep only the learned tensors: a ViT-B/16 CLIP is ~600 MB that never changes.
        learned = set(self.model.trainable_state_dict())
        checkpoint["state_dict"] = {
            k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("model.") or k[6:] in learned
        }
