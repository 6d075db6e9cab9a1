"""What a task builder hands to `src.train`: the pieces the Trainer runs, plus the run's artifact folder."""
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl


@dataclass
class TaskParts:
    module: pl.LightningModule
    datamodule: pl.LightningDataModule
    run_dir: Path                                   # where the task's artifacts go (created by the builder)
    callbacks: list[pl.Callback] = field(default_factory=list)   # task-specific (artifact writers, …)
    summary: Callable[[], dict[str, Any]] = dict    # called after fit: figures printed and given to sweeps
