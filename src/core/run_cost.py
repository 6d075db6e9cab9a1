"""cost.json of a finished run: what its model costs (src/core/cost.py), measured on the training device when fit
ends, so that src.report and MODEL_CARD.md put accuracy beside cost. Every rank measures, because a SyncBatchNorm's
training-mode pass is collective (all ranks must run it together); rank zero writes the file."""
import logging
from pathlib import Path

import torch

from src.core.atomic import write_json
from src.core.cost import CostSubject, measure_cost
from src.core.errors import one_line

log = logging.getLogger(__name__)


def write_run_cost(run_dir: Path, subject: CostSubject, device: torch.device, settings: dict,
                   is_global_zero: bool) -> dict | None:
    """Measure `subject` with the run's `run_cost` settings; <run_dir>/cost.json on rank zero. None when switched
    off or when measuring failed (a finished run is not lost to its cost figures: a warning says what to run)."""
    if not settings["enabled"]:
        return None
    try:
        cost = measure_cost(subject, device=device, warmup=settings["warmup_iters"], iterations=settings["timed_iters"])
    except (RuntimeError, torch.OutOfMemoryError) as err:
        log.warning("cost.json not written: measuring the model failed (%s); `python -m src.profile` with the run's "
                    "overrides measures it", one_line(err))
        return None
    if is_global_zero:
        write_json(Path(run_dir) / "cost.json", cost)
    return cost
