"""task=clip's learning-rate schedule: cosine from the optimizer's lr down to eta_min over T_max epochs, after an
optional linear warm-up from 0 (`warmup_epochs`, the ViFi-CLIP recipe's).

Without warm-up it is torch's CosineAnnealingLR (the prompt-tuning methods' schedule, stepped once per epoch).
With warm-up it is timm's CosineLRScheduler as ViFi-CLIP uses it (utils/optimizer.py: warmup_lr_init=0,
warmup_prefix off), per optimizer step: the warm-up ramps linearly from 0 to the optimizer's lr, and the cosine is
measured from step 0, so where the warm-up ends it continues at the cosine's value for that step (timm's drop).
"""
import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler


class WarmupThenCosine:
    """lr multiplier of one parameter group (a callable object, so LambdaLR's state saves with checkpoints)."""

    def __init__(self, *, base_lr: float, eta_min: float, warmup_steps: int, total_steps: int):
        self.base_lr, self.eta_min = base_lr, eta_min
        self.warmup_steps, self.total_steps = warmup_steps, max(total_steps, 1)

    def cosine(self, step: int) -> float:
        progress = min(step / self.total_steps, 1.0)
        return self.eta_min + (self.base_lr - self.eta_min) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def __call__(self, step: int) -> float:
        if self.base_lr == 0.0:
            return 0.0
        if step < self.warmup_steps:   # timm: lr = warmup_lr_init + step · (lr − warmup_lr_init) / warmup_t, init 0
            return step / self.warmup_steps
        return self.cosine(step) / self.base_lr


def cosine_schedule(optimizer: Optimizer, *, T_max: int, eta_min: float, warmup_epochs: float,
                    steps_per_epoch: int) -> LRScheduler:
    """The `scheduler` partial of conf/task/clip.yaml, completed by the module with the optimizer and how many
    scheduler steps one epoch has (1 with task.scheduler_interval=epoch, the optimizer steps with step)."""
    if warmup_epochs == 0 and steps_per_epoch == 1:
        return CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
    total = max(int(T_max * steps_per_epoch), 1)
    warmup = min(int(round(warmup_epochs * steps_per_epoch)), total)
    return LambdaLR(optimizer, [WarmupThenCosine(base_lr=group["lr"], eta_min=eta_min, warmup_steps=warmup,
                                                 total_steps=total) for group in optimizer.param_groups])
