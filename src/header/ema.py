"""`finetune.ema_decay`: an exponential moving average of the Header Net's weights (timm's ModelEmaV3).

Training updates the raw weights; after every optimizer step the average moves towards them
(ema = decay * ema + (1 - decay) * raw, buffers included). Validation runs on the average: it is swapped into
the net for the whole validation pass, so the logged metrics, metrics_epoch.csv, val_predictions.csv and
checkpoints/best_epoch_<N>.pt are the average's; then the raw weights come back and training continues on them.
Lightning's last.ckpt keeps the raw weights (the module) and the average (this callback's state): a resume with
ckpt_path=… continues both exactly.
"""
import pytorch_lightning as pl
import torch
from timm.utils import ModelEmaV3

from src.core.errors import UserError


def ema_callbacks(finetune: dict) -> list[pl.Callback]:
    """[HeaderModelEma] when `finetune.ema_decay` is set, else []; a bad decay is a UserError (checked at build)."""
    decay = finetune["ema_decay"]
    if decay is None:
        return []
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 < decay < 1.0:
        raise UserError(f"finetune.ema_decay={decay}: use a decay in (0, 1), e.g. 0.999 (~1000 steps of memory), "
                        f"or null for no averaging")
    return [HeaderModelEma(float(decay))]


class HeaderModelEma(pl.Callback):
    """Keeps the average of `pl_module.net` and validates (and so saves as best) with it. Must come after the
    artifact writer in the callback list: the raw weights return in on_validation_end, after the writer saved."""

    def __init__(self, decay: float):
        self.decay = decay
        self.ema: ModelEmaV3 | None = None
        self._restored_state: dict | None = None      # the average from a checkpoint, until the fit starts
        self._raw_weights: dict[str, torch.Tensor] | None = None
        self._last_step = -1

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.ema = ModelEmaV3(pl_module.net, decay=self.decay)  # a copy on the net's device
        if self._restored_state is not None:
            self.ema.module.load_state_dict(self._restored_state)
            self._restored_state = None
        self._last_step = trainer.global_step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self.ema is not None and trainer.global_step != self._last_step:  # an optimizer step was taken
            self.ema.update(pl_module.net, step=trainer.global_step)
            self._last_step = trainer.global_step

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.ema is None or trainer.sanity_checking:
            return
        self._raw_weights = {k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}
        pl_module.net.load_state_dict(self.ema.module.state_dict())

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._raw_weights is not None:
            pl_module.net.load_state_dict(self._raw_weights)
            self._raw_weights = None

    def state_dict(self) -> dict:
        if self.ema is None:
            return {}
        return {"decay": self.decay, "ema": {k: v.detach().cpu() for k, v in self.ema.module.state_dict().items()}}

    def load_state_dict(self, state_dict: dict) -> None:
        if self.ema is not None and state_dict.get("ema") is not None:  # strategies that restore after fit start
            self.ema.module.load_state_dict(state_dict["ema"])
        else:
            self._restored_state = state_dict.get("ema")
