"""Shared fixtures: the CLI runner and a small synthetic UCF-101-layout set made once per session."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic action set (UCF-101 layout), generated once per test session."""
    from data_tools.make_synthetic import make_action_dataset

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


def compose_cfg(overrides: list[str], tmp_path: Path) -> dict:
    """conf/train.yaml + overrides, resolved to a plain dict outside a Hydra run (for in-process tests)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import src.run_naming  # noqa: F401  (the run_tag resolver)

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}"])
    return OmegaConf.to_container(cfg, resolve=True)
