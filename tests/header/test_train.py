"""`python -m src.train task=header …` end to end: artifacts, VideoMAE checkpoints, DDP, bad input -> exit 2."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file

from src.core.errors import UserError
from src.header.artifacts import EPOCH_COLUMNS, PREDICTION_COLUMNS
from src.header.plots import PLOT_FILES
from src.header.task import build
from tests.header.clip_sets import train_val_csvs
from tests.header.vmae_reference import original_state_dict, write_original_folder

BEST_KEYS = {"epoch", "train_loss", "val_loss", "val_acc", "val_precision", "val_recall", "val_f1", "val_auc",
             "val_pr_auc", "val_mcc", "threshold", "best_threshold", "num_val_clips", "checkpoint"}


def _run_dir(tmp_path: Path) -> Path:
    runs = list((tmp_path / "report" / "header_experiments").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def _data_args(tmp_path: Path, **kw) -> list[str]:
    train, val = train_val_csvs(tmp_path / "data", **kw)
    return [f"dataset.train_csv={train}", f"dataset.val_csv={val}"]


def _check_artifacts(run_dir: Path, epochs: int) -> dict:
    metrics = pd.read_csv(run_dir / "metrics_epoch.csv")
    assert list(metrics.columns) == EPOCH_COLUMNS and metrics["epoch"].tolist() == list(range(1, epochs + 1))
    best = json.loads((run_dir / "best_metrics.json").read_text())
    assert set(best) == BEST_KEYS
    assert set(best["best_threshold"]) == {"threshold", "f1", "precision", "recall"}
    assert best["val_f1"] == pytest.approx(metrics["val_f1"].max())  # the best epoch is chosen by val F1
    assert best["best_threshold"]["f1"] >= best["val_f1"] - 1e-6     # the F1-optimal threshold is at least as good
    predictions = pd.read_csv(run_dir / "val_predictions.csv")
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert np.allclose(predictions["prob_header"] + predictions["prob_non_header"], 1.0)
    assert (predictions["pred_label"] == (predictions["prob_header"] >= 0.5)).all()
    assert best["checkpoint"] == f"checkpoints/best_epoch_{best['epoch']}.pt"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [f"best_epoch_{best['epoch']}.pt"]
    checkpoint = torch.load(run_dir / best["checkpoint"], weights_only=True)
    assert checkpoint["epoch"] == best["epoch"] and checkpoint["metrics"]["val_f1"] == best["val_f1"]
    for name in (*PLOT_FILES, "config.yaml", "last.ckpt"):
        assert (run_dir / name).is_file() and (run_dir / name).stat().st_size > 0, name
    return {"metrics": metrics, "best": best, "predictions": predictions, "checkpoint": checkpoint}


def test_csn_full_run_writes_the_run_folder(cli, tiny_header_run, tmp_path):
    proc = cli([*tiny_header_run, "backbone=csn_tiny", "finetune=full", *_data_args(tmp_path, num_val=7)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _check_artifacts(_run_dir(tmp_path), epochs=2)
    predictions, metrics = out["predictions"], out["metrics"]
    assert predictions["row_idx"].tolist() == list(range(7))
    assert predictions["video_id"].str.startswith("match_").all() and predictions["path"].str.endswith(".npy").all()
    assert metrics["lr_backbone"].notna().all() and (metrics["lr_head"] > 0).all()
    assert out["checkpoint"]["config"]["backbone"]["name"] == "csn-tiny"
    assert "val_f1" in proc.stdout and "best_threshold" in proc.stdout  # the printed summary


def test_neg_pos_ratio_trains_on_every_header_and_one_non_header_each(cli, tiny_header_run, tmp_path):
    """12 training clips, 4 headers: neg_pos_ratio=1 gives 8 clips per epoch, 2 batches of 4 (not 3)."""
    proc = cli([*tiny_header_run, "backbone=csn_tiny", "dataset.neg_pos_ratio=1", *_data_args(tmp_path)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = _run_dir(tmp_path)
    assert torch.load(run_dir / "last.ckpt", weights_only=True)["global_step"] == 2 * 2  # 2 epochs x 2 batches
    # Hydra's job log: what reaches the console in-process depends on the logging set up by earlier tests
    log = (tmp_path / "outputs" / "run" / "train.log").read_text()
    assert log.count("dataset.neg_pos_ratio=1: 8 clips per epoch (4 headers + 4 of 8 non-") == 1
    assert "train_clips_per_epoch" in proc.stdout and len(pd.read_csv(run_dir / "val_predictions.csv")) == 6


@pytest.mark.parametrize("layout", ["transformers", "original"])
def test_vmae_frozen_trains_from_a_local_checkpoint(cli, compose, tiny_header_run, tmp_path, layout):
    sd = original_state_dict(seed=3)
    ckpt = write_original_folder(tmp_path / "ckpt_original", sd)
    if layout == "transformers":
        ckpt = _as_transformers_folder(compose, tmp_path, ckpt)
    proc = cli([*tiny_header_run, "backbone=vmae", "finetune=frozen", f"backbone.ckpt={ckpt}",
                    "dataset.input_size=32", "dataset.num_frames=4", *_data_args(tmp_path)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _check_artifacts(_run_dir(tmp_path), epochs=2)
    state = out["checkpoint"]["state_dict"]
    attention = "backbone.model.encoder.layer.1.attention.attention"
    # frozen: the loaded weights are still exactly the checkpoint's, and the q/v biases are not zero
    assert torch.equal(state[f"{attention}.query.bias"], sd["model.blocks.1.attn.q_bias"])
    assert torch.equal(state[f"{attention}.value.bias"], sd["model.blocks.1.attn.v_bias"])
    assert state[f"{attention}.query.bias"].abs().min() > 0 and f"{attention}.key.bias" not in state
    qkv = sd["model.blocks.1.attn.qkv.weight"]
    assert torch.equal(state[f"{attention}.key.weight"], qkv[32:64])
    assert out["metrics"]["lr_backbone"].isna().all()  # nothing of the backbone is trained


def _as_transformers_folder(compose, tmp_path: Path, original: Path) -> Path:
    from src.header.models.net import build_header_net
    from tests.header.vmae_reference import write_transformers_folder

    backbone = compose(["task=header", "backbone=vmae", f"backbone.ckpt={original}"], tmp_path).backbone
    net = build_header_net(OmegaConf.to_container(backbone), num_frames=4, input_size=32)
    return write_transformers_folder(tmp_path / "ckpt_transformers", net)


@pytest.mark.slow  # end to end, long: make test-all
def test_two_process_ddp_writes_artifacts_once_with_synced_metrics(subprocess_cli, tiny_header_run, tmp_path):
    proc = subprocess_cli([*tiny_header_run, "backbone=csn_tiny", "trainer=ddp_cpu", "trainer.devices=2",
                    *_data_args(tmp_path, num_val=7)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _check_artifacts(_run_dir(tmp_path), epochs=2)
    predictions, best = out["predictions"], out["best"]
    # 7 clips over 2 ranks: the sampler pads one duplicate, which must not appear
    assert predictions["row_idx"].tolist() == list(range(7)) and best["num_val_clips"] == 7
    labels, preds = predictions["label"].to_numpy(), predictions["pred_label"].to_numpy()
    assert best["val_acc"] == pytest.approx((labels == preds).mean(), abs=1e-6)
    assert best["val_loss"] == pytest.approx(predictions["loss"].mean(), abs=1e-5)
    tp, fp = ((labels == 1) & (preds == 1)).sum(), ((labels == 0) & (preds == 1)).sum()
    fn = ((labels == 1) & (preds == 0)).sum()
    assert best["val_f1"] == pytest.approx(2 * tp / max(2 * tp + fp + fn, 1), abs=1e-6)


def _error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def test_bad_input_on_the_command_line_is_one_line_and_exit_2(cli, tiny_header_run, tmp_path):
    train, val = train_val_csvs(tmp_path / "data")
    pd.read_csv(train).drop(columns=["label"]).to_csv(train, index=False)
    line = _error_line(cli([*tiny_header_run, "backbone=csn_tiny", f"dataset.train_csv={train}",
                                f"dataset.val_csv={val}"], tmp_path))
    assert str(train) in line and "label" in line


def _build_error(compose, tiny_header_run, tmp_path: Path, overrides: list[str]) -> str:
    cfg = compose([*tiny_header_run, *overrides], tmp_path)
    with pytest.raises(UserError) as info:
        build(cfg)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_bad_input_is_reported_by_the_builder_before_training(compose, tiny_header_run, tmp_path):
    train, val = train_val_csvs(tmp_path / "data")
    data = [f"dataset.train_csv={train}", f"dataset.val_csv={val}"]
    table = pd.read_csv(train)

    bad_label = tmp_path / "bad_label.csv"
    table.assign(label=[0, 1, 3] + [0] * (len(table) - 3)).to_csv(bad_label, index=False)
    assert "row 3 (line 4): label 3" in _build_error(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", f"dataset.train_csv={bad_label}",
                                                                f"dataset.val_csv={val}"])
    missing = tmp_path / "data" / "train" / "missing.csv"
    table.assign(path=["clips/nope.npy"] + table["path"].tolist()[1:]).to_csv(missing, index=False)
    message = _build_error(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", f"dataset.train_csv={missing}", f"dataset.val_csv={val}"])
    assert "row 1 (line 2)" in message and "clips/nope.npy" in message
    np.save(tmp_path / "data" / "val" / "clips" / "clip_001.npy", np.zeros((8, 32, 32), np.uint8))
    message = _build_error(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", *data])
    assert "val.csv row 2" in message and "(T, H, W, 3) uint8" in message
    np.save(tmp_path / "data" / "val" / "clips" / "clip_001.npy", np.zeros((8, 32, 32, 3), np.uint8))

    message = _build_error(compose, tiny_header_run, tmp_path, ["backbone=vmae", f"backbone.ckpt={tmp_path}/VideoMAEv2-Base", *data])
    assert f"{tmp_path}/VideoMAEv2-Base" in message and "not found" in message
    (tmp_path / "weird").mkdir()
    (tmp_path / "weird" / "config.json").write_text('{"architectures": ["Something"]}')
    save_file({"w": torch.zeros(1)}, str(tmp_path / "weird" / "model.safetensors"))
    message = _build_error(compose, tiny_header_run, tmp_path, ["backbone=vmae", f"backbone.ckpt={tmp_path / 'weird'}", *data])
    assert "no known format" in message
    original = write_original_folder(tmp_path / "orig", original_state_dict())
    message = _build_error(compose, tiny_header_run, tmp_path, ["backbone=vmae", f"backbone.ckpt={original}", "dataset.num_frames=7", *data])
    assert "num_frames=7" in message and "tubelet size 2" in message
    assert "dataset.train_csv" in _build_error(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny"])  # no CSV given at all


@pytest.mark.slow
def test_header_demo_experiment(subprocess_cli, tmp_path):
    proc = subprocess_cli(["experiment=header_demo", "~callbacks.progress_bar"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "data" / "synthetic" / "header" / "train.csv").is_file()
    _check_artifacts(_run_dir(tmp_path), epochs=8)
    assert "val_f1" in proc.stdout and "best_threshold" in proc.stdout


def _trainer(tmp_path: Path, parts, **kw):
    import pytorch_lightning as pl

    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=parts.run_dir, save_last=True)
    return pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, callbacks=[checkpoint, *parts.callbacks], **kw)


def test_resume_keeps_the_epoch_history_and_validate_only_reports_epoch_0(compose, tiny_header_run, tmp_path):
    cfg = compose([*tiny_header_run, "backbone=csn_tiny", "run_name=resumed",
                                        *_data_args(tmp_path)], tmp_path)
    parts = build(cfg)
    _trainer(tmp_path, parts, max_epochs=1).fit(parts.module, datamodule=parts.datamodule)
    first = json.loads((parts.run_dir / "best_metrics.json").read_text())
    parts = build(cfg)  # a fresh process would rebuild everything, then resume from last.ckpt
    _trainer(tmp_path, parts, max_epochs=2).fit(parts.module, datamodule=parts.datamodule,
                                               ckpt_path=str(parts.run_dir / "last.ckpt"))
    metrics = pd.read_csv(parts.run_dir / "metrics_epoch.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    best = json.loads((parts.run_dir / "best_metrics.json").read_text())
    assert best["val_f1"] >= first["val_f1"] and best["checkpoint"] == f"checkpoints/best_epoch_{best['epoch']}.pt"

    cfg = compose([*tiny_header_run, "backbone=csn_tiny", "run_name=validated",
                                        *_data_args(tmp_path)], tmp_path)
    parts = build(cfg)
    _trainer(tmp_path, parts).validate(parts.module, datamodule=parts.datamodule)
    assert pd.read_csv(parts.run_dir / "metrics_epoch.csv")["epoch"].tolist() == [0]
    assert pd.read_csv(parts.run_dir / "metrics_epoch.csv")["train_loss"].isna().all()
    assert (parts.run_dir / "config.yaml").is_file() and (parts.run_dir / "roc_curve.png").is_file()
    assert "### best (val split, " in (parts.run_dir / "MODEL_CARD.md").read_text()  # a validate-only run's card
