"""Shared fixtures: the CLI runners (in-process `cli`, subprocess `run_cli`) and a small synthetic UCF-101-layout
set made once per session."""
import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Under pytest-xdist (make test: -n auto) each worker is a process: torch's default of every core per process
    would run workers x cores threads on the cores, so each worker takes its share."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic action set (UCF-101 layout), generated once per test session."""
    from src.synthetic.datasets import make_action_dataset

    root = tmp_path_factory.mktemp("synthetic") / "ucf_synth"
    return make_action_dataset(root, seed=0, groups=4, clips_per_group=2, num_frames=16, width=40, height=32)


@pytest.fixture(scope="session")
def subprocess_cli():
    """`subprocess_cli(args, tmp_path, module="src.train") -> CompletedProcess`: a real `python -m <module>` process,
    every output folder under tmp_path. Only for what needs a process of its own (DDP, kill -9, end to end)."""
    def run(args: list[str], out_dir: Path, module: str = "src.train", timeout: int = 600):
        cmd = [sys.executable, "-m", module, *_hydra_argv(args, out_dir)]
        env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)

    return run


# Small, fast CLIP runs on the synthetic set (CPU, tiny CLIP, 1 view of 4 frames).
TINY_CLIP_RUN = [
    "backbone=clip_tiny", "trainer=cpu", "dataset.num_frames=4", "dataset.num_temporal_views=1",
    "dataset.num_spatial_views=1", "dataset.batch_size=4", "dataset.num_workers=0", "dataset.batches_per_backprop=1",
    "~callbacks.progress_bar", "logger=csv",
]


@pytest.fixture(scope="session")
def tiny_clip_run() -> tuple[str, ...]:
    """Overrides for a small, fast CLIP run on the synthetic set (CPU, tiny CLIP, 1 view of 4 frames)."""
    return tuple(TINY_CLIP_RUN)


# The fast settings every header training test uses (tiny CSN/VideoMAE, CPU, 8 x 32 x 32 clips).
TINY_HEADER = ["task=header", "trainer=cpu", "dataset.num_frames=8", "dataset.batch_size=4", "dataset.num_workers=0",
               "trainer.max_epochs=2", "trainer.log_every_n_steps=1", "~callbacks.progress_bar", "logger=csv"]


@pytest.fixture(scope="session")
def tiny_header_run() -> tuple[str, ...]:
    """Overrides for a fast header run (tiny CSN/VideoMAE, CPU, 8 x 32 x 32 clips, 2 epochs)."""
    return tuple(TINY_HEADER)


@pytest.fixture(scope="session")
def compose():
    """`compose(overrides, out_dir) -> DictConfig`: conf/train.yaml + overrides as `python -m src.train` composes
    them (Hydra's compose API), every output folder under out_dir, resolved. Adjust with `open_dict`."""
    from tests.composed import compose_config

    return compose_config


@pytest.fixture
def cfg_clip(compose, synthetic_root, tmp_path) -> DictConfig:
    """A composed task=clip config: video_coop on the synthetic set with the tiny CLIP, outputs under tmp_path."""
    return compose(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *TINY_CLIP_RUN], tmp_path)


@pytest.fixture
def cfg_header(compose, header_csvs, tmp_path) -> DictConfig:
    """A composed task=header config: csn_tiny on 12 train / 6 val tiny clips, outputs under tmp_path."""
    train, val = header_csvs
    return compose([*TINY_HEADER, "backbone=csn_tiny", f"dataset.train_csv={train}", f"dataset.val_csv={val}"],
                   tmp_path)


@pytest.fixture
def header_csvs(tmp_path) -> tuple[Path, Path]:
    """train.csv and val.csv over disjoint tiny .npy clips (a fast stand-in for the split tool)."""
    from tests.header.clip_sets import train_val_csvs

    return train_val_csvs(tmp_path / "clips")


@pytest.fixture(scope="session")
def tiny_clip(compose, tmp_path_factory):
    """(model, tokenizer): the random-init tiny CLIP of conf/backbone/clip_tiny.yaml, built by the real loader."""
    import torch

    from src.clip.models.backbone import load_clip

    cfg = compose(["backbone=clip_tiny"], tmp_path_factory.mktemp("tiny_clip"))
    torch.manual_seed(0)  # random init: the same tiny CLIP in every session
    return load_clip(OmegaConf.to_container(cfg.backbone))


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
    from hydra.core.hydra_config import HydraConfig

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
            HydraConfig.instance().cfg = None  # else a later in-process train() sees this run's Hydra config
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


@pytest.fixture(autouse=True)
def restore_logger_levels_after_each_test():
    """The benchmarks run in-process quiet loggers for their tables (benchmarks/scaling.py sets `src` to WARNING):
    give every test the levels it started with, so a later test's INFO lines (and the assertions on them) are not
    silenced by which tests its xdist worker happened to run before."""
    import logging

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    levels = [(logger, logger.level, logger.disabled) for logger in loggers]
    yield
    for logger, level, disabled in levels:
        logger.setLevel(level)
        logger.disabled = disabled
