"""dataset.feature_cache for task=header, finetune=frozen: cached logits equal pixel logits, reuse, modes, CLI."""
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from torchvision import tv_tensors

from src.core.errors import UserError
from src.core.feature_cache.callback import FeatureCaching
from src.core.feature_cache.dataset import CachedFeatureDataset
from src.header.data.dataset import HeaderClipDataset
from src.header.task import build
from tests.header.clip_sets import train_val_csvs

VMAE_TINY = ["backbone=vmae_tiny", "dataset.num_frames=4"]


def _parts(compose, tiny_header_run, tmp_path: Path, overrides: list[str], run_name: str = "cached"):
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=5)
    cfg = compose([*tiny_header_run, f"run_name={run_name}", f"dataset.train_csv={train}",
                                        f"dataset.val_csv={val}", *overrides], tmp_path)
    pl.seed_everything(0)  # random-init backbones: the same weights (and so the same cache key) in every build
    return build(cfg)


class BatchKeys(pl.Callback):
    """The keys of every batch the trainer fed the module (to see what the loops really read)."""

    def __init__(self):
        self.keys = {"train": set(), "val": set()}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.keys["train"] |= set(batch)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.keys["val"] |= set(batch)


def _fit(parts, epochs: int = 1) -> dict:
    seen = BatchKeys()
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, num_sanity_val_steps=0, max_epochs=epochs,
                         callbacks=[*parts.callbacks, seen])
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return seen.keys


def _entries(tmp_path: Path) -> dict[str, int]:
    root = tmp_path / "cache"
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.npy")}


@pytest.mark.parametrize("backbone", [["backbone=csn_tiny"], VMAE_TINY], ids=["csn", "vmae"])
def test_cached_logits_equal_the_full_forward_on_the_same_clips(compose, tiny_header_run, tmp_path, backbone):
    parts = _parts(compose, tiny_header_run, tmp_path, [*backbone, "finetune=frozen", "dataset.feature_cache=auto"])
    caching = [c for c in parts.callbacks if isinstance(c, FeatureCaching)]
    assert len(caching) == 1 and pickle.loads(pickle.dumps(caching[0])).mode == "auto"  # ddp_spawn pickles it
    keys = _fit(parts)  # one epoch: the head (and VideoMAE's pool LayerNorm) moved away from their initial values
    assert keys == {"train": {"features", "label", "row_idx", "num_bad"}, "val": {"features", "label", "row_idx", "num_bad"}}
    datamodule, module = parts.datamodule, parts.module.eval()
    assert isinstance(datamodule.train_set, CachedFeatureDataset)
    assert isinstance(datamodule.val_set, CachedFeatureDataset)
    pixels = HeaderClipDataset(datamodule.val_table.rows, num_frames=datamodule.cfg["num_frames"],
                               transform=datamodule.val_transform, seed=0)
    with torch.no_grad():
        clips = torch.stack([pixels[i]["video"] for i in range(len(pixels))])        # (N, 3, T, S, S)
        full = module.net(clips)                                                     # (N, 2)
        features = torch.stack([datamodule.val_set[i]["features"] for i in range(len(pixels))])  # (N, D)
        cached = module.batch_logits({"features": features})                         # (N, 2)
    assert torch.allclose(cached, full, atol=1e-5), (cached - full).abs().max()
    assert not torch.allclose(full[:, 0], full[:, 1])  # the head is not degenerate (the check would be vacuous)
    # the run's own validation (from the cache) reported the same probabilities as the pixel path gives
    result = pd.read_csv(parts.run_dir / "val_predictions.csv")  # the one epoch is the best epoch
    assert result["row_idx"].tolist() == list(range(len(pixels)))
    assert np.allclose(result["prob_header"], full.softmax(-1)[:, 1].numpy(), atol=1e-5)
    assert [int(datamodule.val_set[i]["label"]) for i in range(len(pixels))] == pixels.labels.tolist()


def test_training_reads_the_eval_transform_features_without_augmentation(compose, tiny_header_run, tmp_path):
    parts = _parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=auto"])
    _fit(parts)
    datamodule, net = parts.datamodule, parts.module.net.eval()
    first = datamodule.train_table.rows.iloc[0]
    frames = torch.from_numpy(HeaderClipDataset(datamodule.train_table.rows.iloc[:1], num_frames=8,
                                                transform=lambda v: v, seed=0).load_frames(0)).permute(0, 3, 1, 2)
    video = datamodule.val_transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor).permute(1, 0, 2, 3)
    with torch.no_grad():
        expected = net.frozen_features(video[None])[0]                               # (D,)
    item = datamodule.train_set[0]
    assert int(item["row_idx"]) == int(first["row_idx"]) and int(item["label"]) == int(first["label"])
    assert torch.allclose(item["features"], expected, atol=1e-5)


def test_a_second_fit_reads_the_cache_and_writes_nothing(compose, tiny_header_run, tmp_path):
    overrides = ["backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=auto"]
    _fit(_parts(compose, tiny_header_run, tmp_path, overrides, run_name="first"))
    first = _entries(tmp_path)
    assert len(first) == 8 + 5  # one (D,) entry per train and val clip
    _fit(_parts(compose, tiny_header_run, tmp_path, overrides, run_name="second"), epochs=2)
    assert _entries(tmp_path) == first  # same files, untouched
    _fit(_parts(compose, tiny_header_run, tmp_path, [*overrides[:2], "dataset.feature_cache=read"], run_name="read"))
    assert _entries(tmp_path) == first
    _fit(_parts(compose, tiny_header_run, tmp_path, [*overrides[:2], "dataset.feature_cache=write"], run_name="write"))
    rewritten = _entries(tmp_path)
    assert rewritten.keys() == first.keys() and all(rewritten[k] != first[k] for k in first)
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # atomic writes leave no temp files


def test_the_cache_key_changes_with_what_changes_the_features(compose, tiny_header_run, tmp_path):
    overrides = ["backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=auto"]
    _fit(_parts(compose, tiny_header_run, tmp_path, overrides, run_name="a"))
    off = _fit(_parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=frozen"], run_name="off"))
    assert off["train"] == off["val"] == {"video", "label", "row_idx", "num_bad"}  # feature_cache defaults to "off"
    _fit(_parts(compose, tiny_header_run, tmp_path, [*overrides, "dataset.num_frames=4"], run_name="b"))
    namespaces = [p for p in (tmp_path / "cache" / "frame_features").iterdir() if p.is_dir()]
    assert len(namespaces) == 2 and all(len(list(p.glob("*.npy"))) == 13 for p in namespaces)


def test_read_mode_without_a_cache_is_a_user_error(compose, tiny_header_run, tmp_path):
    parts = _parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=read"])
    with pytest.raises(UserError, match="dataset.feature_cache=read: 8 of 8 train clips"):
        _fit(parts)


def test_the_cache_is_ignored_unless_frozen_and_bad_modes_are_user_errors(compose, tiny_header_run, tmp_path, caplog):
    parts = _parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=full", "dataset.feature_cache=auto"])
    assert not any(isinstance(c, FeatureCaching) for c in parts.callbacks)
    assert "dataset.feature_cache=auto ignored" in caplog.text
    off = _parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=frozen"], run_name="off")  # the default is "off"
    assert not any(isinstance(c, FeatureCaching) for c in off.callbacks)
    with pytest.raises(UserError, match="dataset.feature_cache=sometimes: choose one of off, auto, write, read"):
        _parts(compose, tiny_header_run, tmp_path, ["backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=sometimes"])


def test_cli_frozen_run_with_the_cache_writes_the_run_folder(cli, tiny_header_run, tmp_path):
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=5)
    proc = cli([*tiny_header_run, "backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=auto",
                    f"dataset.train_csv={train}", f"dataset.val_csv={val}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((tmp_path / "report" / "header_experiments").iterdir())
    assert len(runs) == 1
    for name in ("config.yaml", "metrics_epoch.csv", "best_metrics.json", "val_predictions.csv"):
        assert (runs[0] / name).is_file(), name
    assert len(_entries(tmp_path)) == 8 + 5


@pytest.mark.slow
def test_two_process_ddp_fills_its_shares_waits_and_trains_on_the_cache(subprocess_cli, tiny_header_run, tmp_path):
    """strategy=ddp_spawn (the callback is pickled), 2 ranks: every clip gets one entry, validation is complete."""
    train, val = train_val_csvs(tmp_path / "data", num_train=8, num_val=7)
    proc = subprocess_cli([*tiny_header_run, "backbone=csn_tiny", "finetune=frozen", "dataset.feature_cache=auto",
                           "trainer=ddp_cpu", "trainer.devices=2", "trainer.max_epochs=1",
                           f"dataset.train_csv={train}", f"dataset.val_csv={val}"], tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(_entries(tmp_path)) == 8 + 7
    run = next((tmp_path / "report" / "header_experiments").iterdir())
    predictions = pd.read_csv(run / "val_predictions.csv")
    assert predictions["row_idx"].tolist() == list(range(7))  # each val clip once, from the cache of both ranks
