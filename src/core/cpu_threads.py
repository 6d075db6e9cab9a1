"""`trainer.cpu_threads`: torch's intra-op threads in the training process, set in one place before the Trainer.

DataLoader workers already run one torch thread each; the main process, left alone, starts one per core on top of
them, so on a small machine the workers and the main process fight over the same cores. `auto` leaves the cores
the workers use to them. The key is not a Lightning Trainer argument: it is taken out of `cfg.trainer` here.
"""
import logging
import os

import torch
from omegaconf import DictConfig, open_dict

from src.core.errors import UserError

log = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may run on (the affinity mask: a cgroup / taskset limit counts, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def resolve_cpu_threads(setting, *, num_workers: int, cores: int) -> int | None:
    """The thread count `setting` stands for (None: keep torch's default). auto: cores - num_workers (at least 1)
    while loader workers run, else torch's default."""
    if setting is None:
        return None
    if setting == "auto":
        return max(1, cores - num_workers) if num_workers > 0 else None
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise UserError(f"trainer.cpu_threads={setting}: use auto, a positive number of threads, or null "
                        f"(torch's default)")
    return setting


def apply_cpu_threads(cfg: DictConfig) -> int:
    """Remove `trainer.cpu_threads` from cfg.trainer, apply it, and return the thread count now in use."""
    with open_dict(cfg):
        setting = cfg.trainer.pop("cpu_threads", None)
    threads = resolve_cpu_threads(setting, num_workers=int(cfg.dataset.num_workers), cores=available_cores())
    if threads is not None:
        torch.set_num_threads(threads)
        log.info("torch intra-op threads: %d (trainer.cpu_threads=%s, dataset.num_workers=%s)", threads, setting,
                 cfg.dataset.num_workers)
    return torch.get_num_threads()
