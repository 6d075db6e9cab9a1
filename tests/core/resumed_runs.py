"""Training runs in their own process and the files that must match after a resume: shared by the exact-resume
tests (a kill -9, tests/core/test_resume_exact.py) and the interrupt tests (SIGTERM / SIGINT,
tests/core/test_interrupt.py). The kill or signal comes from tests/core/kill_switch.py through KILL."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
KILL = "+callbacks.kill._target_=tests.core.kill_switch.KillSwitch"


def run_train(root: Path, overrides: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "src.train", f"paths.root_dir={root}", f"hydra.run.dir={root}/outputs", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "WANDB_MODE": "offline"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)


def clip_files(run: Path) -> dict:
    log = [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((run / "training_log.json").read_text())]
    ckpt = torch.load(run / "checkpoint.pth", map_location="cpu", weights_only=True)
    return {"log": log, "tensors": ckpt["state_dict"], "epoch": ckpt["meta"]["epoch"],
            **{name: json.loads((run / f"{name}.json").read_text()) for name in ("validation_results", "test_results")}}


def header_files(run: Path) -> dict:
    best = json.loads((run / "best_metrics.json").read_text())
    ckpt = torch.load(run / best["checkpoint"], map_location="cpu", weights_only=True)
    return {"best": best, "tensors": ckpt["state_dict"], "epochs": (run / "metrics_epoch.csv").read_text(),
            "predictions": (run / "val_predictions.csv").read_text()}


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def assert_same(reference: dict, resumed: dict) -> None:
    assert max_diff(reference["tensors"], resumed["tensors"]) == 0.0
    assert all(torch.equal(reference["tensors"][k], resumed["tensors"][k]) for k in reference["tensors"])
    assert {k: v for k, v in reference.items() if k != "tensors"} == {k: v for k, v in resumed.items() if k != "tensors"}


def steps_per_epoch(run: Path) -> int:
    return json.loads((run / "training_log.json").read_text())[0]["optimizer_steps"]
