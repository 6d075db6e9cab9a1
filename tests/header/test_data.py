"""dataset=header: CSV checks, path resolution, frame sampling, transforms, bad clips, balanced sampling."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from src.core.errors import UserError
from src.header.data.datamodule import HeaderDataModule
from src.header.data.dataset import HeaderClipDataset, open_clip, read_header_csv, sample_frame_indices
from src.header.data.transforms import build_clip_transform
from tests.composed import section
from tests.header.clip_sets import write_clip_set

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
JITTER = {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1}
READ = {"name": "dataset.val_csv", "check_clips": True, "max_bad_fraction": 0.2}
NORM = {"mean": MEAN, "std": STD, "normalise": True}


def _csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _error(fn, *args, **kw) -> str:
    with pytest.raises(UserError) as info:
        fn(*args, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_frame_indices_are_even_and_repeat_for_short_clips():
    assert sample_frame_indices(16, 8).tolist() == [0, 2, 4, 6, 9, 11, 13, 15]
    assert sample_frame_indices(8, 8).tolist() == list(range(8))
    short = sample_frame_indices(4, 8)
    assert short.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_csv_needs_path_and_label(tmp_path):
    message = _error(read_header_csv, _csv(tmp_path / "a.csv", [{"file": "x.npy", "label": 1}]), **READ)
    assert "a.csv" in message and "path" in message
    message = _error(read_header_csv, _csv(tmp_path / "b.csv", [{"path": "x.npy", "target": 1}]), **READ)
    assert "b.csv" in message and "label" in message


def test_label_must_be_0_or_1(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=4)
    table = pd.read_csv(csv)
    table.loc[2, "label"] = 2
    message = _error(read_header_csv, _csv(csv, table.to_dict("records")), **READ)
    assert "row 3 (line 4)" in message and "label 2" in message


def test_missing_clip_names_row_and_path(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=4)
    (tmp_path / "clips" / "clip_001.npy").unlink()
    message = _error(read_header_csv, csv, **READ)
    assert "row 2 (line 3)" in message and "clips/clip_001.npy" in message


def test_a_misshaped_clip_is_a_bad_clip_and_too_many_stop_naming_the_first(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=3)
    np.save(tmp_path / "clips" / "clip_002.npy", np.zeros((4, 8, 8), np.uint8))  # not (T, H, W, 3)
    table = read_header_csv(csv, name="dataset.val_csv", check_clips=True, max_bad_fraction=0.5)
    assert table.bad_clips == [str((tmp_path / "clips" / "clip_002.npy").resolve())] and len(table.rows) == 2
    message = _error(read_header_csv, csv, **READ)  # 1 of 3 is more than 0.2
    assert "1 of 3" in message and "row 3" in message and "(4, 8, 8)" in message and "(T, H, W, 3) uint8" in message


def test_unreadable_clips_are_skipped_and_counted_until_too_many(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=10)
    (tmp_path / "clips" / "clip_004.npy").write_bytes(b"\x93NUMPY truncated")
    table = read_header_csv(csv, **READ)
    assert len(table.rows) == 9 and table.bad_clips == [str((tmp_path / "clips" / "clip_004.npy").resolve())]
    assert 4 not in table.rows["row_idx"].tolist()  # row indices still name the CSV rows
    for i in (5, 6):
        (tmp_path / "clips" / f"clip_00{i}.npy").write_bytes(b"")
    assert "max_bad_fraction" in _error(read_header_csv, csv, **READ)


def test_paths_relative_to_csv_folder_or_cwd_and_original_base_names(tmp_path, monkeypatch):
    write_clip_set(tmp_path / "set", num_clips=3)
    np.save(tmp_path / "set" / "clips" / "base_s.npy", np.zeros((2, 4, 4, 3), np.uint8))
    monkeypatch.chdir(tmp_path)
    csv = _csv(tmp_path / "elsewhere.csv", [
        {"path": "set/clips/clip_000.npy", "label": 1},              # relative to the cwd
        {"path": str(tmp_path / "set/clips/clip_001.npy"), "label": 0},  # absolute
        {"path": "set/clips/base", "label": 0},                      # the original's base name -> base_s.npy
    ])
    files = read_header_csv(csv, **READ).rows["file"].tolist()
    assert files[0].endswith("clip_000.npy") and files[2].endswith("base_s.npy")
    nested = _csv(tmp_path / "set" / "local.csv", [{"path": "clips/clip_002.npy", "label": 1}])  # CSV folder
    assert read_header_csv(nested, **READ).rows["file"][0] == str((tmp_path / "set/clips/clip_002.npy").resolve())


def test_clip_is_memory_mapped_and_item_is_normalised(tmp_path):
    clip = np.full((12, 8, 8, 3), 128, np.uint8)
    clip[:, :, :, 0] = np.arange(12, dtype=np.uint8)[:, None, None] * 10  # red channel encodes the frame index
    np.save(tmp_path / "c.npy", clip)
    assert isinstance(open_clip(tmp_path / "c.npy"), np.memmap)
    rows = read_header_csv(_csv(tmp_path / "c.csv", [{"path": "c.npy", "label": 1}]), **READ).rows
    transform = build_clip_transform(input_size=8, augment=False, flip_prob=0.0, color_jitter={}, **NORM)
    item = HeaderClipDataset(rows, num_frames=4, transform=transform, seed=0)[0]
    assert item["video"].shape == (3, 4, 8, 8) and item["label"] == 1 and item["row_idx"] == 0
    red = item["video"][0, :, 0, 0] * STD[0] + MEAN[0]  # un-normalised red value per sampled frame
    expected = torch.tensor([0, 4, 7, 11]) * 10 / 255.0  # frames linspace(0, 11, 4).round() = 0, 4, 7, 11
    assert torch.allclose(red, expected.float(), atol=1e-5)
    green = item["video"][1, 0, 0, 0] * STD[1] + MEAN[1]
    assert abs(float(green) - 128 / 255.0) < 1e-5


def test_augmentation_is_identical_for_every_frame(tmp_path):
    frame = np.random.default_rng(0).integers(0, 255, (1, 16, 16, 3), dtype=np.uint8)
    np.save(tmp_path / "same.npy", np.repeat(frame, 8, axis=0))  # 8 identical frames
    rows = read_header_csv(_csv(tmp_path / "s.csv", [{"path": "same.npy", "label": 0}]), **READ).rows
    flip_all = build_clip_transform(input_size=16, augment=True, flip_prob=1.0, color_jitter=JITTER, **NORM)
    plain = build_clip_transform(input_size=16, augment=False, flip_prob=0.0, color_jitter={}, **NORM)
    torch.manual_seed(0)
    video = HeaderClipDataset(rows, num_frames=8, transform=flip_all, seed=0)[0]["video"]  # (3, T, S, S)
    for t in range(1, 8):
        assert torch.equal(video[:, t], video[:, 0]), "frames of one clip got different augmentations"
    reference = HeaderClipDataset(rows, num_frames=8, transform=plain, seed=0)[0]["video"]
    no_jitter = build_clip_transform(input_size=16, augment=True, flip_prob=1.0, color_jitter={}, **NORM)
    flipped = HeaderClipDataset(rows, num_frames=8, transform=no_jitter, seed=0)[0]["video"]
    assert torch.allclose(flipped, reference.flip(-1))


def _dataset_cfg(train: Path, val: Path, **over) -> dict:
    """The composed header dataset section (every key the datamodule reads) with test-sized values."""
    return {**section("dataset", ["task=header"]), "train_csv": str(train), "val_csv": str(val), "num_frames": 4,
            "input_size": 16, "augment": False,
            "flip_prob": 0.5, "color_jitter": JITTER, "balanced_sampling": False, "batch_size": 4,
            "val_batch_size": 4, "num_workers": 0, "augment_on": "loader", "check_clips": True,
            "max_bad_fraction": 0.1, "generate_if_missing": False, **over}


def test_balanced_sampling_draws_headers_half_the_time(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=24, positive_every=6, size=16, frames=4)  # 4 headers of 24
    plain = HeaderDataModule(_dataset_cfg(csv, csv), mean=MEAN, std=STD, seed=0)
    balanced = HeaderDataModule(_dataset_cfg(csv, csv, balanced_sampling=True), mean=MEAN, std=STD, seed=0)
    assert plain.class_counts == [20, 4]
    shares = []
    for dm in (plain, balanced):
        dm.setup("fit")
        loader = dm.train_dataloader()
        labels = []
        for epoch in range(20):  # new draws each epoch, as Lightning's set_epoch gives them
            loader.sampler.set_epoch(epoch)
            labels += [b["label"] for b in loader]
        labels = torch.cat(labels)
        shares.append(labels.float().mean().item())
    assert abs(shares[0] - 4 / 24) < 0.02 and 0.4 < shares[1] < 0.6, shares


def test_val_batches_carry_row_indices_and_no_augmentation(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=6, size=16, frames=4)
    dm = HeaderDataModule(_dataset_cfg(csv, csv, augment=True), mean=MEAN, std=STD, seed=0)
    dm.setup("fit")
    first = torch.cat([b["video"] for b in dm.val_dataloader()])
    second = torch.cat([b["video"] for b in dm.val_dataloader()])
    assert torch.equal(first, second)
    assert torch.cat([b["row_idx"] for b in dm.val_dataloader()]).tolist() == list(range(6))


def test_synthetic_header_set_is_generated_and_split_by_match(tmp_path, monkeypatch):
    from src.header.data.datamodule import ensure_synthetic_header_data

    root = tmp_path / "synthetic" / "header"
    dataset = {"root": str(root), "train_csv": str(root / "train.csv"), "val_csv": str(root / "val.csv"),
               "synthetic": {"num_clips": 24, "num_frames": 8, "size": 32, "positive_fraction": 0.25, "seed": 0,
                             "val_split": 0.25}}
    ensure_synthetic_header_data(dataset)
    train, val = pd.read_csv(root / "train.csv"), pd.read_csv(root / "val.csv")
    assert len(train) + len(val) == 24 and not set(train["video_id"]) & set(val["video_id"])
    monkeypatch.chdir(tmp_path)  # paths are relative to the CSVs' folder: valid from any working directory
    table = read_header_csv(root / "val.csv", **READ)
    assert len(table.rows) == len(val) and all(Path(f).is_file() for f in table.rows["file"])
    with pytest.raises(UserError, match="train.csv"):
        ensure_synthetic_header_data({**dataset, "train_csv": str(tmp_path / "elsewhere" / "t.csv")})


def test_datamodule_generates_the_synthetic_set_in_prepare_data(tmp_path):
    root = tmp_path / "synthetic" / "header"
    synthetic = {"num_clips": 24, "num_frames": 8, "size": 32, "positive_fraction": 0.25, "seed": 0, "val_split": 0.25}
    dataset = _dataset_cfg(root / "train.csv", root / "val.csv", generate_if_missing=True, root=str(root),
                           synthetic=synthetic)
    dm = HeaderDataModule(dataset, mean=MEAN, std=STD, seed=0)
    assert not root.exists()  # constructing reads and writes nothing: Lightning's place is prepare_data
    dm.prepare_data()
    written = {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
    dm.prepare_data()  # idempotent: the set is complete
    assert {p.name: p.stat().st_mtime_ns for p in root.iterdir()} == written
    assert sum(dm.class_counts) + len(dm.val_table.rows) == 24 and dm.class_counts[1] > 0
    dm.setup("fit")
    assert len(dm.train_set) == sum(dm.class_counts) and len(dm.val_set) == len(dm.val_table.rows)


def _row_indices(loader) -> list[int]:
    return torch.cat([b["row_idx"] for b in loader]).tolist()


def test_neg_pos_ratio_trains_every_header_and_k_non_headers_per_epoch_and_validates_on_all(tmp_path):
    csv = write_clip_set(tmp_path, num_clips=24, positive_every=6, size=16, frames=4)  # 4 headers of 24
    dm = HeaderDataModule(_dataset_cfg(csv, csv, neg_pos_ratio=2, batch_size=3), mean=MEAN, std=STD, seed=0)
    assert dm.class_counts == [20, 4] and dm.epoch_class_counts == [8, 4]
    assert dm.describe()["train_clips_per_epoch"] == 12 and dm.describe()["train_clips"] == 24
    dm.setup("fit")
    loader = dm.train_dataloader()
    headers = {i for i in range(24) if i % 6 == 0}
    epochs = []
    for epoch in range(3):
        loader.sampler.set_epoch(epoch)
        rows = _row_indices(loader)
        assert len(rows) == 12 and len(set(rows)) == 12 and headers <= set(rows)
        epochs.append(set(rows) - headers)
    assert len({frozenset(e) for e in epochs}) == 3, "the same non-headers every epoch"
    assert _row_indices(dm.val_dataloader()) == list(range(24))  # validation is never subsampled


def test_neg_pos_ratio_resumes_mid_epoch_with_the_same_remaining_clips(tmp_path):
    """What a mid-epoch resume does: a new datamodule, the loader told the epoch, then the saved loader state."""
    csv = write_clip_set(tmp_path, num_clips=24, positive_every=4, size=16, frames=4)  # 6 headers of 24
    cfg = _dataset_cfg(csv, csv, neg_pos_ratio=1.5, batch_size=3)

    def loader_at(epoch: int):
        dm = HeaderDataModule(cfg, mean=MEAN, std=STD, seed=5)
        dm.setup("fit")
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        loader.dataset.set_epoch(epoch)
        return loader

    whole = _row_indices(loader_at(2))
    assert len(whole) == 15
    first = loader_at(2)
    batches = iter(first)
    seen = [next(batches)["row_idx"].tolist() for _ in range(2)]
    state = first.state_dict()
    resumed = loader_at(2)
    resumed.load_state_dict(state)
    assert sum(seen, []) + _row_indices(resumed) == whole


@pytest.mark.parametrize("over, words", [
    ({"balanced_sampling": True, "neg_pos_ratio": 3}, ["dataset.balanced_sampling=true", "dataset.neg_pos_ratio=3"]),
    ({"neg_pos_ratio": 1}, ["dataset.neg_pos_ratio=1", "no header clips"]),
])
def test_neg_pos_ratio_conflicts_are_one_line_errors(tmp_path, over, words):
    csv = write_clip_set(tmp_path, num_clips=6, positive_every=100, size=16, frames=4)  # only clip 0 is a header
    pd.read_csv(csv).assign(label=0).to_csv(csv, index=False)  # now none
    message = _error(lambda: HeaderDataModule(_dataset_cfg(csv, csv, **over), mean=MEAN, std=STD, seed=0).class_counts)
    assert all(w in message for w in words), message
