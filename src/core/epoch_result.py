"""How a task's LightningModule hands its figures to the artifact writers (the same for both tasks).

The module finishes a pass (a training epoch with its validation, a validate-only pass, a test pass), does every
collective computation itself (metric syncs, gathers: all ranks take part), and then calls
`publish(trainer, result)` with one result object: an `EpochResult` subclass of its task
(`src.clip.module.ClipEpochResult`, `src.header.module.HeaderEpochResult`). Every callback that defines
`on_epoch_result(trainer, result)` receives it, on every rank; writers write on rank zero only.
Writers work from the result alone: they never read module attributes (metrics, optimizers, the network).
"""
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch


@dataclass(frozen=True)
class EpochResult:
    stage: str                              # "fit" (a training epoch, + its validation if one ran) | "validate" | "test"
    epoch: int                              # trainer.current_epoch when the pass ended
    weights: dict[str, torch.Tensor]        # the tensors a best-weights checkpoint stores (live references: copy them)


def publish(trainer: pl.Trainer, result: EpochResult) -> None:
    """Hand `result` to every callback with an `on_epoch_result(trainer, result)` hook."""
    for callback in trainer.callbacks:
        hook: Any = getattr(callback, "on_epoch_result", None)
        if callable(hook):
            hook(trainer, result)
