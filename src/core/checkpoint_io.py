"""Reading a run's weights file, the same for both tasks: never runs code (weights_only), and a missing or
unreadable file is one UserError naming it."""
from pathlib import Path

import torch

from src.core.errors import UserError


def load_weights_only(path: Path, *, if_missing: str, if_unreadable: str = "train the run again or pick another run"):
    """torch.load(path, weights_only=True) on CPU; `if_missing` / `if_unreadable`: what to do when it is absent /
    not a checkpoint."""
    if not Path(path).is_file():
        raise UserError(f"{path}: {if_missing}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated / not a torch file / a pickle that would run code
        raise UserError(f"{path}: not a readable PyTorch checkpoint ({type(err).__name__}); {if_unreadable}") from err
