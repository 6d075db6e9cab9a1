"""The task-independent feature-cache core: sharding over ranks, the modes, eval mode while encoding, and the
cached dataset (a toy source: 4-number "clips" encoded by a small linear net)."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, default_collate

from src.core.errors import UserError
from src.core.feature_cache.callback import FeatureCaching
from src.core.feature_cache.dataset import CachedFeatureDataset
from src.core.feature_cache.fill import eval_mode, fill_split, missing_entries, prepare_caches
from src.core.feature_cache.modes import parse_mode
from src.core.feature_cache.source import CacheSplit, FeatureSource
from src.core.feature_cache.store import FeatureStore
from tests.damaged_npy import DAMAGED_NPY

DIM = 3


class ToyClips(Dataset):
    """Item i: {"video": (4,) floats, "label": i % 2} (no index: the core adds it)."""

    def __init__(self, n: int):
        self.videos = torch.randn(n, 4, generator=torch.Generator().manual_seed(n))

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> dict:
        return {"video": self.videos[i], "label": i % 2}


def _split(tmp_path: Path, n: int, preload: bool = False) -> CacheSplit:
    files = []
    for i in range(n):
        files.append(tmp_path / "clips" / f"clip_{i}.npy")
        files[-1].parent.mkdir(exist_ok=True)
        files[-1].write_bytes(f"clip {i}".encode())
    return CacheSplit(ToyClips(n), files=files, fields={"label": torch.arange(n) % 2, "row_idx": torch.arange(n)},
                      namespace={"toy": 1}, shape=(DIM,), preload=preload)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, DIM), nn.Dropout(0.9))  # dropout: features differ unless in eval mode


class ToySource(FeatureSource):
    """One "train" split, encoded by the network itself."""

    unit, build_hint = "clips", "use auto"

    def __init__(self, split: CacheSplit):
        super().__init__(batch_size=2, num_workers=0, collate_fn=None)
        self.split = split

    def model(self, pl_module):
        return pl_module

    def splits(self, datamodule, model):
        return {"train": self.split}

    def encoder(self, model):
        return model


def _mtimes(store: FeatureStore) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in store.dir.glob("*.npy")}


def test_rank_shares_cover_every_item_even_when_one_rank_runs_ahead(tmp_path):
    split, store = _split(tmp_path, 5), FeatureStore(tmp_path / "cache", {"toy": 1})
    encode = lambda v: torch.ones(len(v), DIM)  # noqa: E731
    common = dict(batch_size=2, num_workers=0, collate_fn=None, device=torch.device("cpu"), world_size=2)
    first = fill_split(store, split, encode, rank=0, **common)  # rank 0 finishes before rank 1 looks at the cache
    second = fill_split(store, split, encode, rank=1, **common)
    assert (first["written"], second["written"]) == (3, 2)
    assert all(store.load(f, (DIM,)) is not None for f in split.files)


def test_modes_fill_in_eval_mode_reuse_rewrite_and_check(tmp_path):
    net = _net().train()
    net[0].eval()  # a mixed state (as a module with frozen parts has) must come back as it was
    source = ToySource(_split(tmp_path, 4, preload=True))
    run = lambda mode: prepare_caches(source, net, None, tmp_path / "cache", mode,  # noqa: E731
                                      device=torch.device("cpu"))["train"]
    store, split, stats = run("auto")
    assert stats["written"] == 4 and [m.training for m in net.modules()] == [True, False, True]
    with torch.no_grad():
        expected = net.eval()(split.pixels.videos)  # (4, DIM): dropout off
    net.train()
    assert np.allclose(np.stack([store.load(f, (DIM,)) for f in split.files]), expected.numpy(), atol=1e-6)
    before = _mtimes(store)
    assert run("auto")[2]["written"] == 0 and _mtimes(store) == before
    assert run("read")[2] is None and _mtimes(store) == before
    assert run("write")[2]["written"] == 4 and all(_mtimes(store)[k] != v for k, v in before.items())
    store.entry(split.files[2]).unlink()
    with pytest.raises(UserError, match=r"dataset.feature_cache=read: 1 of 4 train clips are not in .*; use auto"):
        run("read")


def test_cached_dataset_serves_features_and_fields(tmp_path):
    split, store = _split(tmp_path, 3, preload=True), FeatureStore(tmp_path / "cache", {"toy": 1})
    for i, f in enumerate(split.files):
        store.save(f, torch.full((DIM,), float(i)))
    preloaded = CachedFeatureDataset(store, split)
    item = preloaded[2]
    assert torch.equal(item["features"], torch.full((DIM,), 2.0)) and int(item["label"]) == 0
    assert int(item["row_idx"]) == 2 and preloaded.labels.tolist() == [0, 1, 0] and len(preloaded) == 3
    store.entry(split.files[1]).unlink()  # an item that was unreadable when the cache was filled
    preloaded = CachedFeatureDataset(store, split)
    assert preloaded[1] is None and torch.equal(preloaded[2]["features"], torch.full((DIM,), 2.0))
    lazy = CachedFeatureDataset(store, CacheSplit(**{**split.__dict__, "preload": False}))
    assert lazy[1] is None and torch.equal(lazy[0]["features"], torch.zeros(DIM))  # collate_fn drops a None


@pytest.mark.parametrize("name", list(DAMAGED_NPY))
def test_a_damaged_entry_is_missing_and_rebuilt_never_an_error(tmp_path, name):
    split, store = _split(tmp_path, 2, preload=True), FeatureStore(tmp_path / "cache", {"toy": 1})
    store.save(split.files[0], torch.ones(DIM))
    store.entry(split.files[1]).write_bytes(DAMAGED_NPY[name])
    assert store.load(split.files[1], (DIM,)) is None
    assert missing_entries(store, split) == [1]
    stats = fill_split(store, split, lambda v: torch.full((len(v), DIM), 5.0), batch_size=2, num_workers=0,
                       collate_fn=None, device=torch.device("cpu"))
    assert stats["written"] == 1 and np.array_equal(store.load(split.files[1], (DIM,)), np.full(DIM, 5.0, np.float32))


def _skip_none(batch: list) -> dict:
    """A task's collate_fn: the readable items stacked, the others counted."""
    good = [item for item in batch if item is not None]
    return {**(default_collate(good) if good else {}), "num_bad": torch.tensor(len(batch) - len(good))}


def test_read_mode_counts_an_unreadable_item_without_an_entry_as_bad_not_missing(tmp_path):
    class OneUnreadable(ToyClips):
        def __getitem__(self, i):
            return None if i == 1 else super().__getitem__(i)

    split = _split(tmp_path, 3, preload=True)
    source = ToySource(CacheSplit(**{**split.__dict__, "pixels": OneUnreadable(3)}))
    source.collate_fn = _skip_none
    prepare_caches(source, _net(), None, tmp_path / "cache", "auto", device=torch.device("cpu"))
    store, split, _ = prepare_caches(source, _net(), None, tmp_path / "cache", "read", device=torch.device("cpu"))["train"]
    cached = CachedFeatureDataset(store, split)
    assert cached[1] is None and cached[0] is not None and cached[2] is not None
    store.entry(split.files[0]).unlink()  # a readable item without an entry: read mode refuses
    with pytest.raises(UserError, match="2 of 3 train clips are not in"):
        prepare_caches(source, _net(), None, tmp_path / "cache", "read", device=torch.device("cpu"))


def test_modes_and_callback_arguments(tmp_path):
    callback = FeatureCaching(ToySource(_split(tmp_path, 2)), "auto", tmp_path / "cache")
    assert pickle.loads(pickle.dumps(callback)).source.split.files == callback.source.split.files  # ddp_spawn
    assert [parse_mode(v) for v in (False, "off", "auto", "write", "read")] == ["off", "off", "auto", "write", "read"]
    with pytest.raises(UserError, match="dataset.feature_cache=maybe: choose one of off, auto, write, read"):
        parse_mode("maybe")
    with pytest.raises(ValueError, match="needs one of"):
        FeatureCaching(source=None, mode="off", cache_dir=Path("."))


def test_eval_mode_restores_every_submodule():
    net = _net()
    net[1].eval()
    with eval_mode(net):
        assert not any(m.training for m in net.modules())
    assert [m.training for m in net.modules()] == [True, True, False]
