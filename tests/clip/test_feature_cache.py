"""The frame-feature cache: keys that invalidate entries, atomic writes, and cached == uncached results."""
import json
import multiprocessing as mp
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from src.core.feature_cache.callback import FeatureCaching
from src.core.feature_cache.keys import weights_hash
from src.core.feature_cache.source import CacheSplit
from src.core.feature_cache.store import FeatureStore

SHAPE = (2, 3, 4)


def _video(tmp_path: Path, data: bytes = b"fake video bytes") -> Path:
    path = tmp_path / "v_Class_g01_c01.avi"
    path.write_bytes(data)
    return path


def test_entry_round_trip_and_invalidation_by_the_video_file(tmp_path):
    video = _video(tmp_path)
    cache = FeatureStore(tmp_path / "cache", {"backbone": "tiny", "num_frames": 3})
    features = torch.randn(*SHAPE)
    cache.save(video, features)
    assert np.array_equal(cache.load(video, SHAPE), features.numpy())
    assert cache.load(video, (2, 3, 5)) is None                 # another shape is never served
    video.write_bytes(b"another video with other bytes")          # edited video: new size and mtime
    assert cache.load(video, SHAPE) is None


def test_namespace_changes_with_weights_and_sampling(tmp_path):
    base = {"backbone": "tiny", "weights": "abc", "num_frames": 8}
    keys = {FeatureStore(tmp_path, ns).key for ns in
            (base, {**base, "weights": "abd"}, {**base, "num_frames": 16}, dict(base))}
    assert len(keys) == 3
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    assert weights_hash(a) != weights_hash(b)
    b.load_state_dict(a.state_dict())
    assert weights_hash(a) == weights_hash(b)


def test_truncated_entry_is_rebuilt_never_read(tmp_path):
    from src.core.feature_cache.fill import fill_split

    video = _video(tmp_path)
    cache = FeatureStore(tmp_path / "cache", {"k": 1})
    cache.save(video, torch.ones(*SHAPE))
    entry = cache.entry(video)
    entry.write_bytes(entry.read_bytes()[:-10])                   # a crash mid-write of a foreign tool
    assert cache.load(video, SHAPE) is None

    class Pixels(torch.utils.data.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return {"video": torch.zeros(SHAPE[0], SHAPE[1], 3, 2, 2), "label": 0}

    split = CacheSplit(Pixels(), files=[video], fields={"label": [0]}, namespace={"k": 1}, shape=SHAPE)
    encode = lambda v: torch.full((v.shape[0], *SHAPE), 7.0)     # noqa: E731
    stats = fill_split(cache, split, encode, batch_size=2, num_workers=0, collate_fn=None,
                       device=torch.device("cpu"))
    assert stats["missing"] == 1 and stats["written"] == 1
    assert np.array_equal(cache.load(video, SHAPE), np.full(SHAPE, 7.0, dtype=np.float32))


def _writer(args):
    cache_dir, video, value = args
    cache = FeatureStore(Path(cache_dir), {"k": 1})
    for _ in range(30):
        cache.save(Path(video), torch.full(SHAPE, float(value)))


def test_concurrent_writers_leave_one_valid_entry(tmp_path):
    video = _video(tmp_path)
    # fork: the writers start at once with this process's imports (spawn re-imports torch: ~10 s here); they only
    # fill small tensors, nothing that would touch a thread pool inherited across the fork.
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(_writer, [(str(tmp_path / "cache"), str(video), 1), (str(tmp_path / "cache"), str(video), 2)])
    cache = FeatureStore(tmp_path / "cache", {"k": 1})
    loaded = cache.load(video, SHAPE)
    assert loaded is not None and len(set(loaded.ravel().tolist())) == 1 and loaded.ravel()[0] in (1.0, 2.0)
    assert [p.name for p in cache.dir.iterdir() if p.suffix == ".tmp"] == []


def test_cached_features_give_the_same_logits(compose, tmp_path):
    from omegaconf import OmegaConf

    from src.clip.feature_cache import encode_videos
    from src.clip.models.backbone import load_clip
    from src.clip.models.registry import build_method

    cfg = compose(["backbone=clip_tiny", "method=video_coop"], tmp_path)
    backbone, method = OmegaConf.to_container(cfg.backbone), OmegaConf.to_container(cfg.method)
    torch.manual_seed(0)
    clip, tokenizer = load_clip(backbone)
    model = build_method(method, clip, tokenizer, ["a", "b", "c"], num_frames=4).eval()
    video = torch.randn(2, 3, 4, 3, 32, 32)
    with torch.no_grad():
        pixels = model(video)
        cached = model.forward_features(encode_videos(model)(video))
    assert torch.allclose(pixels, cached, atol=1e-5)


def test_under_bf16_autocast_cached_fp32_features_agree_within_bf16_rounding(compose, tmp_path):
    """The cache holds fp32 features (one cache serves every precision); an uncached bf16-mixed run encodes the
    frames in bf16. Their logits then differ by bf16 rounding, not by 1e-5: measured 1-3 bf16 steps of the largest
    logit (0.8-1.7 %, the same size as the bf16 run's own difference from fp32); bound here 2^-5 of it."""
    from omegaconf import OmegaConf

    from src.clip.feature_cache import encode_videos
    from src.clip.models.backbone import load_clip
    from src.clip.models.registry import build_method

    cfg = compose(["backbone=clip_tiny", "method=video_coop"], tmp_path)
    backbone, method = OmegaConf.to_container(cfg.backbone), OmegaConf.to_container(cfg.method)
    torch.manual_seed(0)
    clip, tokenizer = load_clip(backbone)
    model = build_method(method, clip, tokenizer, [f"class {i}" for i in range(10)], num_frames=4).eval()
    video = torch.randn(32, 2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        fp32 = model(video)
        cached_features = encode_videos(model)(video)  # what the cache stores: encoded in fp32
        with torch.autocast("cpu", torch.bfloat16):    # what trainer.precision=bf16-mixed runs the steps under
            uncached = model(video).float()
            cached = model.forward_features(cached_features).float()
    difference = (uncached - cached).abs().max()
    assert 1e-5 < difference <= 2 ** -5 * fp32.abs().max(), (difference, fp32.abs().max())


def test_cached_and_uncached_runs_validate_the_same(cli, tiny_clip_run, synthetic_root, tmp_path):
    """lr 0: the model does not change, so validation must agree exactly whether it reads pixels or the cache."""
    results = {}
    for mode in ("off", "auto"):
        proc = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                        "trainer.max_epochs=1", "optimizer.lr=0", "scheduler.eta_min=0", f"run_id={mode}",
                        f"dataset.feature_cache={mode}", "task.test_after_fit=false"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[mode] = json.loads((tmp_path / f"models/video_coop/ucf101/{mode}/validation_results.json").read_text())
    assert results["off"]["top1"] == results["auto"]["top1"]
    assert abs(results["off"]["loss"] - results["auto"]["loss"]) < 1e-5
    assert results["off"]["confusion_matrix"] == results["auto"]["confusion_matrix"]
    entries = list((tmp_path / "cache" / "frame_features").glob("*/*.npy"))
    assert len(entries) >= results["auto"]["num_videos"]
    assert os.path.getsize(entries[0]) > 0


def test_training_really_reads_the_cache(compose, synthetic_root, tmp_path):
    """With feature_cache=auto the batches the trainer feeds the module are features, in training and validation."""
    import pytorch_lightning as pl

    from src.clip.task import build

    cfg = compose(["backbone=clip_tiny", "dataset=ucf101", f"dataset.root={synthetic_root}",
                                        "dataset.num_frames=4", "dataset.num_temporal_views=1",
                                        "dataset.num_spatial_views=1", "dataset.num_workers=0",
                                        "dataset.batch_size=8", "dataset.feature_cache=auto", "run_id=seen"], tmp_path)
    pl.seed_everything(0)
    parts = build(cfg)
    caching = [c for c in parts.callbacks if isinstance(c, FeatureCaching)]
    assert len(caching) == 1 and pickle.loads(pickle.dumps(caching[0])).mode == "auto"  # ddp_spawn pickles it
    seen = {"train": set(), "val": set()}

    class Spy(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            seen["train"].add("features" if "features" in batch else "video")

        def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
            seen["val"].add("features" if "features" in batch else "video")

    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, callbacks=[*parts.callbacks, Spy()], num_sanity_val_steps=0)
    trainer.fit(parts.module, datamodule=parts.datamodule)
    assert seen == {"train": {"features"}, "val": {"features"}}


def test_weights_hash_tells_activations_apart():
    """OpenAI's CLIP weights run with QuickGELU; the same tensors under GELU give other features, so another cache."""
    import open_clip

    from src.core.feature_cache.keys import weights_hash
    cfg = {"embed_dim": 16, "vision_cfg": {"image_size": 16, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
           "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1}}
    gelu = open_clip.model.CLIP(**cfg)
    quick = open_clip.model.CLIP(**cfg, quick_gelu=True)
    quick.load_state_dict(gelu.state_dict())
    assert weights_hash(gelu.visual) != weights_hash(quick.visual)
    same = open_clip.model.CLIP(**cfg)
    same.load_state_dict(gelu.state_dict())
    assert weights_hash(gelu.visual) == weights_hash(same.visual)
