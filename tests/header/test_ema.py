"""finetune.ema_decay: validation and the best checkpoint use timm's moving average; training keeps the raw weights.

One tiny end-to-end run also carries the other speed/timm keys (augment_on=device, drop path, cpu_threads)."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from src.core.errors import UserError
from src.header.ema import HeaderModelEma, ema_callbacks
from tests.header.clip_sets import train_val_csvs


def test_ema_decay_is_checked():
    assert ema_callbacks({"ema_decay": None}) == []
    assert isinstance(ema_callbacks({"ema_decay": 0.99})[0], HeaderModelEma)
    for bad in (0.0, 1.0, 1.5, "fast", True):
        with pytest.raises(UserError, match="finetune.ema_decay"):
            ema_callbacks({"ema_decay": bad})


def test_average_follows_steps_swaps_in_for_validation_and_resumes():
    torch.manual_seed(0)
    module = SimpleNamespace(net=nn.Linear(3, 2))
    trainer = SimpleNamespace(global_step=0, sanity_checking=False)
    averaging = HeaderModelEma(0.5)
    averaging.on_fit_start(trainer, module)
    start = module.net.weight.detach().clone()
    for step, shift in ((1, 1.0), (2, 2.0), (2, 100.0)):  # the last call: no optimizer step, no update
        with torch.no_grad():
            module.net.weight.copy_(start + shift)
        trainer.global_step = step
        averaging.on_train_batch_end(trainer, module, None, None, step)
    # timm: the first update copies (decay 0 at step 1), the next blends at 0.5: start + (1 + 2) / 2
    assert torch.allclose(averaging.ema.module.weight, start + 1.5)
    averaging.on_validation_start(trainer, module)
    assert torch.allclose(module.net.weight, start + 1.5)           # validation sees the average
    averaging.on_validation_end(trainer, module)
    assert torch.equal(module.net.weight, start + 100.0)            # training continues on its own weights
    resumed = HeaderModelEma(0.5)
    resumed.load_state_dict(averaging.state_dict())                 # Lightning restores before on_fit_start
    resumed.on_fit_start(trainer, module)
    assert torch.equal(resumed.ema.module.weight, averaging.ema.module.weight)


def _run_dir(root: Path) -> Path:
    (run,) = list((root / "report" / "header_experiments").iterdir())
    return run


def test_best_checkpoint_holds_the_average_and_last_ckpt_the_raw_weights_too(tiny_header_run, cli, tmp_path):
    train, val = train_val_csvs(tmp_path / "data")
    result = cli([*tiny_header_run, "backbone=vmae_tiny", "finetune=full", "trainer.max_epochs=1",
                  "finetune.ema_decay=0.5", "finetune.drop_path_rate=0.2", "dataset.augment_on=device",
                  "trainer.cpu_threads=1", f"dataset.train_csv={train}", f"dataset.val_csv={val}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = _run_dir(tmp_path)
    best = json.loads((run / "best_metrics.json").read_text())
    saved = torch.load(run / best["checkpoint"], weights_only=True)["state_dict"]
    last = torch.load(run / "last.ckpt", weights_only=True)
    average = last["callbacks"]["HeaderModelEma"]["ema"]
    raw = {k.removeprefix("net."): v for k, v in last["state_dict"].items() if k.startswith("net.")}
    assert saved.keys() == average.keys() == raw.keys()
    assert all(torch.equal(saved[k], average[k]) for k in saved)              # validated + saved: the average
    moved = [k for k in raw if raw[k].is_floating_point() and not torch.equal(raw[k], average[k])]
    assert moved, "training weights and their average should differ after a few steps at decay 0.5"


def test_bad_ema_decay_stops_before_the_run_folder(tiny_header_run, cli, tmp_path):
    train, val = train_val_csvs(tmp_path / "data", num_train=6, num_val=3)
    result = cli([*tiny_header_run, "backbone=vmae_tiny", "finetune.ema_decay=1.0", f"dataset.train_csv={train}",
                  f"dataset.val_csv={val}"], tmp_path)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: finetune.ema_decay=1.0")
    assert not (tmp_path / "report").exists()
