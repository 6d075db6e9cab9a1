"""Exact resume: what the checkpoint must carry beyond Lightning's own state, and where last.ckpt comes from.

- `LastCheckpoint` writes <run_dir>/last.ckpt at every epoch end (and every `every_n_train_steps` optimizer steps
  when set), whatever the monitored metric did, atomically (a temp file, then a rename).
- `RngState` stores the torch (CPU + CUDA), numpy and python RNG of every rank and puts them back at fit start.
- `StopOnSignal` (src/core/interrupt.py) writes last.ckpt at the current step on SIGTERM / SIGINT and stops the fit.
- `DataEpoch` tells the training dataset and sampler which epoch starts: their draws depend on (seed, epoch, index)
  only (src/core/item_seeding.py), so a resumed epoch sees the same batches.
Lightning itself restores weights, optimizer, scheduler, loop progress, callback states (early stopping, best
checkpoint, the artifact writers' run logs) and the StatefulDataLoader's position.
"""
import random
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torch.distributed as dist
from pytorch_lightning.callbacks import Checkpoint

from src.core.interrupt import StopOnSignal
from src.core.item_seeding import set_data_epoch
from src.core.samplers import training_epoch
from src.core.slurm_requeue import requeue_signals_for

LAST = "last.ckpt"


class LastCheckpoint(Checkpoint):
    """A Checkpoint subclass, so Lightning runs it after the other callbacks (their epoch records are saved)."""

    def __init__(self, dirpath: str, every_n_train_steps: int | None):
        if every_n_train_steps is not None and (isinstance(every_n_train_steps, bool)
                                                or not isinstance(every_n_train_steps, int) or every_n_train_steps < 1):
            from src.core.errors import UserError
            raise UserError(f"callbacks.last_every_n_steps: {every_n_train_steps!r} must be null (epoch ends only) "
                            "or a positive number of optimizer steps")
        self.dirpath = Path(dirpath)
        self.every_n_train_steps = every_n_train_steps
        self._saved_at_step = -1

    @property
    def state_key(self) -> str:
        return "LastCheckpoint"

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_train_steps and step > 0 and step % self.every_n_train_steps == 0 \
                and step != self._saved_at_step:
            self.save(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.save(trainer)

    def save(self, trainer: pl.Trainer) -> None:
        # Every rank takes part; rank zero writes, atomically (src/core/checkpoint_writer.py); a barrier follows.
        trainer.save_checkpoint(self.dirpath / LAST)
        self._saved_at_step = trainer.global_step


def gather_per_rank(mine) -> list:
    """[rank 0's, rank 1's, …]: every rank builds the checkpoint, rank zero writes it, so it must hold all ranks'."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        ranks: list = [None] * dist.get_world_size()
        dist.all_gather_object(ranks, mine)
        return ranks
    return [mine]


def pick_rank(ranks: list, rank: int):
    """This rank's entry (rank zero's when the checkpoint came from fewer processes)."""
    return ranks[rank] if rank < len(ranks) else ranks[0]


def _capture() -> dict:
    """Tensors and plain values only: the checkpoint loads with weights_only=True."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                   "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    random.setstate(state["python"])
    _restore_cuda(state.get("cuda", []))


def _restore_cuda(saved: list[torch.Tensor]) -> None:
    """Each GPU that is visible now and has a state in the checkpoint gets it back. A run resumed with fewer or more
    GPUs visible than it was saved with (or on the CPU) restores what both have and logs the difference: setting
    every saved state would address GPUs that no longer exist."""
    import logging

    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if len(saved) != visible:
        logging.getLogger(__name__).warning(
            "the checkpoint holds the RNG state of %d GPU(s), %d are visible now: restored for the first %d; "
            "random draws on the other GPUs start fresh", len(saved), visible, min(len(saved), visible))
    for index, device_state in enumerate(saved[:visible]):
        torch.cuda.set_rng_state(device_state.to("cpu", torch.uint8), index)


class RngState(pl.Callback):
    """Every rank's RNG at the moment the checkpoint was taken, restored when the resumed fit starts."""

    def __init__(self):
        self._pending: list[dict] | None = None

    @property
    def state_key(self) -> str:
        return "RngState"

    def state_dict(self) -> dict:
        return {"ranks": gather_per_rank(_capture())}

    def load_state_dict(self, state_dict: dict) -> None:
        self._pending = list(state_dict["ranks"])

    # After the checkpoint is loaded and before the first batch is drawn (Lightning builds the train iterator
    # after on_fit_start).
    def on_fit_start(self, trainer, pl_module) -> None:
        self._apply(trainer)

    def on_train_start(self, trainer, pl_module) -> None:  # strategies that restore after setup
        self._apply(trainer)

    def _apply(self, trainer) -> None:
        if self._pending:
            _restore(pick_rank(self._pending, trainer.global_rank))
            self._pending = None


class DataEpoch(pl.Callback):
    """The training data's draws follow the epoch (the dataset has no other way to learn it in its workers)."""

    def on_fit_start(self, trainer, pl_module) -> None:
        # A module that reads trainer.estimated_stepping_batches in configure_optimizers makes Lightning build the
        # train loader and its iterator before the checkpoint's loop state is restored: at epoch 0, without the
        # loader's saved position. Drop them; the fit loop builds them again, now from the restored state.
        if trainer.ckpt_path is not None and trainer.fit_loop._combined_loader is not None:
            trainer.fit_loop._combined_loader = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        set_data_epoch(trainer.train_dataloader, training_epoch(trainer))


def resume_callbacks(run_dir: str, last_every_n_steps: int | None, requeue_on_sigterm: bool) -> list[pl.Callback]:
    last = LastCheckpoint(run_dir, last_every_n_steps)
    requeue_signals = requeue_signals_for(requeue_on_sigterm)
    return [RngState(), DataEpoch(), last, StopOnSignal(last.dirpath / LAST, last.save, requeue_signals)]  # after last
