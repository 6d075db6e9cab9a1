"""Shared pieces of the task=clip benchmarks: the composed config, timing, a printed table, the JSON result.

The machine is noisy (other jobs share the cores), so every figure is a median over rounds, and comparisons
are made between variants measured side by side in the same round.
"""
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from src.core import run_naming  # noqa: F401  (registers the run_tag resolver used by conf/task/clip.yaml)
from src.core.atomic import write_json

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"


def compose_config(overrides: list[str]) -> dict:
    """conf/train.yaml composed with `overrides`, resolved into a plain dict (no Hydra run needed)."""
    # ${hydra:runtime.output_dir} only resolves inside a Hydra run: point it somewhere harmless instead.
    overrides = [*overrides, f"paths.output_dir={RESULTS_DIR}"]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True)


def backbone_overrides(backbone: str | None, random_init: bool) -> list[str]:
    """Hydra overrides for `--backbone NAME [--random-init]` (None: the composed default; random init: the
    architecture only, nothing downloaded)."""
    return ([f"backbone={backbone}"] if backbone else []) + (["backbone.pretrained=null"] if random_init else [])


def class_names(num_classes: int) -> list[str]:
    """Distinct, tokenizer-friendly class names ("action 0", "action 1", …)."""
    return [f"action {i}" for i in range(num_classes)]


def clock_name(device: torch.device) -> str:
    """Which clock times a step. On a single-threaded CPU run: this process's CPU time, which other jobs on a
    shared machine barely disturb (they take the core away, they do not add to our CPU time). Otherwise wall time,
    synchronised with the GPU at the ends of a timed window."""
    return "process_cpu_time" if device.type == "cpu" and torch.get_num_threads() == 1 else "wall_time"


def now(device: torch.device) -> float:
    """A timestamp on clock_name(device)'s clock, after the GPU finished the work queued so far."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.process_time() if clock_name(device) == "process_cpu_time" else time.perf_counter()


class StepTimer:
    """Step-end timestamps of one timed run -> steps/s.

    CPU: 1 / the median step time, robust to other jobs' bursts on a shared machine. CUDA: a timestamp without a
    synchronisation only times the CPU queueing work, so there it is the steps over the synchronised window.
    """

    def __init__(self, device: torch.device):
        self.device, self.stamps = device, []

    def mark(self, last: bool = False) -> None:
        """Call at the end of the last warm-up step, then at the end of every timed step (last=True for the last)."""
        synchronise = self.device.type != "cuda" or last or not self.stamps   # CUDA: only at the window's ends
        self.stamps.append(now(self.device) if synchronise else time.perf_counter())

    def steps_per_s(self) -> float:
        assert len(self.stamps) >= 2, "time at least one step after the warm-up"
        if self.device.type == "cuda":
            return (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0])
        return 1.0 / median([b - a for a, b in zip(self.stamps, self.stamps[1:])])


def median(values: Sequence[float]) -> float:
    assert values, "median of no values"
    return float(statistics.median(values))


def environment(device: torch.device) -> dict:
    """What the figures were measured on (they only compare within one run on one machine)."""
    env = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
           "cpu_threads": torch.get_num_threads(), "machine": platform.machine()}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible here; run with --device cpu")
    return torch.device(name)


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    """A small table on the console; floats with 3 significant figures."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row))
    Console().print(table)


def save_results(name: str, results: dict, out_dir: Path) -> Path:
    """<out_dir>/<name>.json, written atomically."""
    path = write_json(Path(out_dir) / f"{name}.json", results)
    print(f"wrote {path}")
    return path
