"""DataLoader options read from a dataset config, shared by both tasks' DataModules."""
import torch

from src.core.errors import UserError


def pin_memory(setting, key: str = "dataset.pin_memory") -> bool:
    """`auto` (on when CUDA is used), true or false -> bool."""
    if setting == "auto":
        return torch.cuda.is_available()
    if not isinstance(setting, bool):
        raise UserError(f"{key}: {setting!r} must be auto, true or false")
    return setting
