"""Lightning checkpoints (best.ckpt by ModelCheckpoint, last.ckpt by src/core/resume.py) written through
src/core/atomic.py: a temp file beside the target, then a rename, so a failed write (a full disk, a kill) leaves the
previous file whole and no temp file behind.

Lightning's own TorchCheckpointIO writes to a temp file in the system's temp folder and then moves it: across file
systems (a local /tmp, the run folder on cluster storage) that move is a copy into the target, and a full disk or a
kill during it leaves a truncated checkpoint where the good one was.
"""
from pathlib import Path
from typing import Any

from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from src.core.atomic import save_torch


class AtomicCheckpointIO(TorchCheckpointIO):
    """Handed to the Trainer as a plugin (src/train.py); loading stays Lightning's."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:  # as TorchCheckpointIO: it has no use for them
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        save_torch(Path(path), checkpoint)
