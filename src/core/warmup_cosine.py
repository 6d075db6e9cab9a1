"""Learning-rate multiplier for LambdaLR: linear warm-up, then cosine decay (per optimizer step).

A callable object rather than a lambda so the scheduler's state is saved with Lightning checkpoints. Applied as a
multiplier, it keeps the ratio between parameter groups (head vs. backbone, layer-wise decay) all along.
"""
import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class WarmupCosine:
    def __init__(self, *, warmup_steps: int, total_steps: int, start_factor: float, min_ratio: float):
        assert 0 <= warmup_steps <= total_steps and total_steps > 0, f"bad schedule {warmup_steps}/{total_steps}"
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        self.start_factor, self.min_ratio = start_factor, min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.start_factor + (1.0 - self.start_factor) * step / self.warmup_steps
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(optimizer: Optimizer, *, total_steps: int, max_epochs: int, warmup_epochs: float,
                            start_factor: float, min_ratio: float) -> LambdaLR:
    """LambdaLR of WarmupCosine, stepped per optimizer step: the `scheduler` partial of conf/task/header.yaml
    (warmup_epochs, start_factor, min_ratio), completed by the module with the run's step count."""
    total = max(int(total_steps), 1)
    warmup = int(round(warmup_epochs * total / max(max_epochs, 1)))
    return LambdaLR(optimizer, WarmupCosine(warmup_steps=min(warmup, total), total_steps=total,
                                            start_factor=start_factor, min_ratio=min_ratio))
