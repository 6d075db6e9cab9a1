"""Shared fixtures: the CLI runners (in-process `cli`, subprocess `run_cli`) and a small synthetic UCF-101-layout
set made once per session."""
import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic action set (UCF-101 layout), generated once per test session."""
    from src.synthetic.datasets import make_action_dataset

    root = tmp_path_factory.mktemp("synthetic") / "ucf_synth"
    return make_action_dataset(root, seed=0, groups=4, clips_per_group=2, num_frames=16, width=40, height=32)


def run_cli(args: list[str], tmp_path: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m src.train <args>` with every output folder under tmp_path; returns the finished process."""
    flags, rest, args = [], list(args), []
    while rest:  # Hydra's flags (-m, --cfg job, --help) go before the overrides (argparse does not intermix)
        arg = rest.pop(0)
        if arg in ("--cfg", "-c", "--package", "-p"):
            flags += [arg, rest.pop(0)]
        elif arg.startswith("-") and not arg.startswith("~"):
            flags.append(arg)
        else:
            args.append(arg)
    cmd = [sys.executable, "-m", "src.train", *flags, f"paths.root_dir={tmp_path}",
           f"hydra.run.dir={tmp_path}/outputs/run", f"hydra.sweep.dir={tmp_path}/multirun", *args]
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


# Small, fast CLIP runs on the synthetic set (CPU, tiny CLIP, 1 view of 4 frames).
TINY_CLIP_RUN = [
    "backbone=clip_tiny", "trainer=cpu", "dataset.num_frames=4", "dataset.num_temporal_views=1",
    "dataset.num_spatial_views=1", "dataset.batch_size=4", "dataset.num_workers=0", "dataset.batches_per_backprop=1",
    "~callbacks.progress_bar", "logger=csv",
]


@pytest.fixture
def tiny_clip_run() -> list[str]:
    """Overrides for a small, fast CLIP run on the synthetic set (CPU, tiny CLIP, 1 view of 4 frames)."""
    return list(TINY_CLIP_RUN)


def compose_cfg(overrides: list[str], tmp_path: Path) -> dict:
    """conf/train.yaml + overrides, resolved to a plain dict outside a Hydra run (for in-process tests)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import src.core.run_naming  # noqa: F401  (the run_tag resolver)

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}"])
    return OmegaConf.to_container(cfg, resolve=True)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def _hydra_argv(args: list[str], tmp_path: Path) -> list[str]:
    """Hydra's flags (-m, --cfg job, --help) first, then output folders under tmp_path, then the overrides."""
    flags, rest, overrides = [], list(args), []
    while rest:  # argparse does not intermix flags and positionals
        arg = rest.pop(0)
        if arg in ("--cfg", "-c", "--package", "-p"):
            flags += [arg, rest.pop(0)]
        elif arg.startswith("-") and not arg.startswith("~"):
            flags.append(arg)
        else:
            overrides.append(arg)
    return [*flags, f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/outputs/run",
            f"hydra.sweep.dir={tmp_path}/multirun", *overrides]


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path):
    """Run an entry point's `main()` in this process, as `python -m <module> <args>` would (10x faster than a
    subprocess): `cli(["experiment=demo"], tmp_path, module="src.train") -> CliResult`. Anything but SystemExit
    propagates, so a traceback fails the test."""
    from hydra.core.global_hydra import GlobalHydra

    def run(args: list[str], out_dir: Path = tmp_path, module: str = "src.train") -> CliResult:
        entry = importlib.import_module(module).main
        monkeypatch.setattr(sys, "argv", [module, *_hydra_argv(args, out_dir)])
        monkeypatch.setenv("WANDB_MODE", "offline")
        GlobalHydra.instance().clear()
        capsys.readouterr()  # drop what came before
        code = 0
        try:
            entry()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            GlobalHydra.instance().clear()
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(autouse=True)
def restore_torch_threads_after_each_test():
    """An in-process run applies trainer.cpu_threads (torch's thread count is process-wide): give every test the
    thread count it started with, so one run's setting never slows the tests after it."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
