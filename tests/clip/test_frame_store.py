"""The decoded-frame store (src/clip/data/frame_store/, dataset.frame_store) and decoder-side resize
(dataset.decode_resize): the frames a sample gets, the indices it samples, stale and damaged entries, bad videos,
sharded filling.

The videos carry their frame index in their pixels (tests/clip/video_helpers.py), so a test can check that the
frames that come out of the store are the frames that were asked for.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.io import decode_jpeg, encode_jpeg
from torchvision.transforms.v2 import functional as F

from src.clip.data.dataset import VideoClipDataset, collate_skip_bad
from src.clip.data.frame_source import FrameSource
from src.clip.data.frame_store.fill import fill_store
from src.clip.data.frame_store.store import FrameStore
from src.clip.data.reader import VideoReader
from src.clip.data.records import VideoRecord
from src.clip.data.sampler import FrameSampler
from src.clip.data.transforms import VideoTransform
from src.core.errors import BadVideoError, UserError
from tests.clip.video_helpers import encode, gray_frame, gray_index, smooth_frame, stripe_frame, stripe_index

JITTER = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}


def transform(train: bool = False, augment: bool = False, size: int = 32) -> VideoTransform:
    return VideoTransform(train, augment, size, [0, 0, 0], [1, 1, 1], 1, [0.6, 1.0], JITTER, 0.5)


def store_at(folder: Path, short_side: int = 48, read_only: bool = False) -> FrameStore:
    return FrameStore(folder / "frames", short_side, 90, read_only)


def entries(store: FrameStore) -> set[Path]:
    return set(store.dir.rglob("*.frames"))


def entry_layout(data: bytes) -> tuple[dict, int]:
    """(header, where the JPEG bytes start) of an entry file's bytes (layout: src/clip/data/frame_store/entry.py)."""
    length = int.from_bytes(data[8:12], "little")
    return json.loads(data[12:12 + length]), 12 + length


class RecordingSampler(FrameSampler):
    """A FrameSampler that keeps every index array it hands out."""

    def __init__(self):
        super().__init__(4, 2, None)
        self.drawn: list[list] = []

    def indices(self, total_frames, train, rng):
        out = super().indices(total_frames, train, rng)
        self.drawn.append(out.tolist())
        return out


# ------------------------------------------------------------------------------------------------ stored pixels
def test_stored_frames_are_the_jpegs_of_the_resized_video_frames(tmp_path):
    video = encode(tmp_path / "smooth.mp4", 30, smooth_frame, width=96, height=72)
    store = store_at(tmp_path)
    indices = np.array([[1, 7], [7, 29]])
    with store.open(video) as stored:                                          # auto: built on first use
        got = stored.read(indices)
        assert stored.num_frames == 30
    assert len(entries(store)) == 1 and json.loads((store.dir / "namespace.json").read_text())["short_side"] == 48
    assert got.frames.shape == (3, 3, 48, 64) and got.frames.dtype == torch.uint8    # short side 72 -> 48
    with VideoReader(video) as reader:
        full = reader.read(indices)
    assert got.inverse.tolist() == full.inverse.tolist() and got.frame_indices.tolist() == [1, 7, 29]
    # = a JPEG round trip of the video's frames resized as the transforms resize
    resized = F.resize(full.frames, [48], antialias=True).contiguous()
    assert torch.equal(got.frames, torch.stack(decode_jpeg([encode_jpeg(f, quality=90) for f in resized])))
    # = the very bytes in the entry file, decoded
    data = store.entry(video).read_bytes()
    header, base = entry_layout(data)
    raw = [data[base + offset:base + offset + size] for offset, size in (header["spans"][i] for i in (1, 7, 29))]
    assert torch.equal(got.frames, torch.stack(decode_jpeg([torch.frombuffer(bytearray(r), dtype=torch.uint8)
                                                            for r in raw])))
    assert (got.frames.float() - full.frames.float().mean()).abs().mean() < 255    # sanity: not empty


def test_the_same_seed_epoch_and_item_sample_the_same_frames_as_from_the_video(tmp_path):
    videos = [encode(tmp_path / f"gray{i}.avi", 20 + 3 * i, gray_frame) for i in range(3)]
    records = [VideoRecord(v, i, None) for i, v in enumerate(videos)]
    from_video, from_store = RecordingSampler(), RecordingSampler()
    plain = VideoClipDataset(records, from_video, transform(train=True), True, seed=5)
    stored = VideoClipDataset(records, from_store, transform(train=True), True, seed=5,
                              open_video=store_at(tmp_path).open)
    for epoch in (0, 1):
        for dataset in (plain, stored):
            dataset.set_epoch(epoch)
        for i in (2, 0, 1):
            a, b = plain[i], stored[i]
            assert a["video"].shape == b["video"].shape == (2, 4, 3, 32, 32) and b["video"].dtype == torch.float32
            shown = gray_index(b["video"].mean(dim=(-3, -2, -1)))              # (V, T): the frames it shows
            assert shown.tolist() == from_store.drawn[-1] == from_video.drawn[-1]
    assert len({str(d) for d in from_store.drawn}) > 3                            # the draws do vary


def test_stripes_survive_the_store_frame_for_frame(tmp_path):
    video = encode(tmp_path / "stripes.mp4", 120, stripe_frame)
    indices = np.array([[0, 1, 63, 64], [100, 118, 119, 119]])
    with store_at(tmp_path).open(video) as stored:
        assert stripe_index(stored.read(indices).expand()).tolist() == indices.tolist()


# --------------------------------------------------------------------------------------- stale, damaged, bad
def test_a_changed_video_misses_its_old_entry(tmp_path):
    video = encode(tmp_path / "v.avi", 24, gray_frame)
    store = store_at(tmp_path)
    first = store.build(video)
    assert store.has(video)
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))          # touched
    assert not store.has(video) and store.entry(video) != first
    with store.open(video) as stored:                                          # auto: built again
        assert stored.num_frames == 24
    with video.open("ab") as grown:                                            # same mtime, other size
        grown.write(b"\0")
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not store.has(video)
    assert len(entries(store)) == 2


def test_bad_videos_are_skipped_and_counted_as_from_the_video(tmp_path, caplog):
    good = encode(tmp_path / "good.avi", 120, stripe_frame)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.avi"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.avi"                                     # its header says 120 frames
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    records = [VideoRecord(p, 0, None) for p in (good, empty, noise, truncated, tmp_path / "gone.avi")]
    sampler = FrameSampler(4, 1, None)                                         # eval: centres up to frame 105
    plain = VideoClipDataset(records, sampler, transform(), False, 0)
    auto = VideoClipDataset(records, sampler, transform(), False, 0, open_video=store_at(tmp_path).open)
    read = VideoClipDataset(records, sampler, transform(), False, 0,
                            open_video=store_at(tmp_path, read_only=True).open)
    batches = [collate_skip_bad([d[i] for i in range(len(records))]) for d in (plain, auto, read)]
    assert [b["num_bad"].item() for b in batches] == [4, 4, 4]
    assert batches[0]["index"].tolist() == batches[1]["index"].tolist() == batches[2]["index"].tolist() == [0]
    # a truncated video: what the video gives for early frames, the store gives too; late frames fail in both
    early = np.array([[0, 10, 20]])
    with VideoReader(truncated) as reader, store_at(tmp_path).open(truncated) as stored:
        assert stripe_index(reader.read(early).expand()).tolist() == early.tolist()
        assert stripe_index(stored.read(early).expand()).tolist() == early.tolist()
        for source in (reader, stored):
            with pytest.raises(BadVideoError, match="truncated.avi: truncated"):
                source.read(np.array([0, 119]))


def test_a_damaged_entry_is_rebuilt_or_in_read_mode_skipped(tmp_path):
    video = encode(tmp_path / "v.avi", 24, gray_frame)
    store = store_at(tmp_path)
    entry = store.build(video)
    good = entry.read_bytes()
    records = [VideoRecord(video, 0, None)]
    read = VideoClipDataset(records, FrameSampler(4, 1, None), transform(), False, 0,
                            open_video=store_at(tmp_path, read_only=True).open)
    header, base = entry_layout(good)
    no_jpeg_markers = bytearray(good)
    for offset, _ in header["spans"]:
        no_jpeg_markers[base + offset:base + offset + 4] = b"\0\0\0\0"
    for damage in (good[:len(good) // 2], b"not an entry", bytes(no_jpeg_markers)):
        entry.write_bytes(damage)
        assert read[0] is None                                                  # skipped (and counted)
        with store.open(video) as stored:                                       # auto: rebuilt
            assert gray_index(stored.read(np.array([3])).frames.float().mean() / 255).item() == 3
        assert entry.read_bytes() == good


# ---------------------------------------------------------------------------------------------------- filling
def test_two_ranks_fill_disjoint_shares_that_cover_every_video(tmp_path):
    videos = [encode(tmp_path / f"v{i}.avi", 12, gray_frame) for i in range(5)]
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"\0" * 64)
    store = store_at(tmp_path)
    first = fill_store(store, [*videos, bad], num_workers=0, rank=0, world_size=2)
    after_first = entries(store)
    second = fill_store(store, [*videos, bad, videos[0]], num_workers=0, rank=1, world_size=2)
    after_second = entries(store) - after_first
    assert (first["share"], second["share"]) == (3, 3) and first["videos"] == second["videos"] == 6
    assert first["written"] + second["written"] == 5 and first["unreadable"] + second["unreadable"] == 1
    assert len(after_first) == first["written"] and len(after_second) == second["written"]
    assert {store.entry(v) for v in videos} == after_first | after_second
    again = [fill_store(store, videos, num_workers=0, rank=r, world_size=2)["written"] for r in (0, 1)]
    assert again == [0, 0]
    rebuilt = fill_store(store, videos, num_workers=0, overwrite=True)
    assert rebuilt["written"] == 5 and rebuilt["already_stored"] == 0


# ---------------------------------------------------------------------------------------- decoder-side resize
def test_decoder_side_resize_gives_the_transforms_size_within_a_few_levels(tmp_path):
    video = encode(tmp_path / "smooth.mp4", 30, smooth_frame, width=96, height=72)
    indices = np.array([[0, 5, 11, 29]])
    with VideoReader(video) as full_reader, VideoReader(video, short_side=32) as small_reader:
        full, small = full_reader.read(indices), small_reader.read(indices)
    reference = F.resize(full.frames, [32], antialias=True)                    # what the transform did
    assert small.frames.shape == reference.shape == (4, 3, 32, 42)
    diff = (small.frames.int() - reference.int()).abs()
    assert diff.max() <= 16 and diff.float().mean() <= 3                       # measured: 7 and 1.2
    # the transform's own resize is then a no-op: its output is the centre crop of the decoded frames
    views = transform()(small.frames)
    assert torch.equal(views[0], F.to_dtype(small.frames[..., 5:37], torch.float32, scale=True))


def test_frame_source_picks_the_reader_the_settings_ask_for(tmp_path):
    settings = {"frame_store": "off", "decode_resize": True, "frame_store_dir": str(tmp_path / "frames"),
                "frame_store_short_side": 48, "frame_store_quality": 90}
    resized = FrameSource(settings, image_size=32)
    assert resized.opener(transform()).keywords == {"short_side": 32}
    assert resized.opener(transform(train=True, augment=True)) is VideoReader  # the random crop needs full frames
    assert FrameSource({**settings, "decode_resize": False}, 32).opener(transform()) is VideoReader
    assert FrameSource({**settings, "decode_resize": False}, 32).describe() == "video"
    stored = FrameSource({**settings, "frame_store": "auto"}, 32)
    assert stored.opener(transform()) == stored.store.open and not stored.store.read_only
    assert FrameSource({**settings, "frame_store": "read"}, 32).store.read_only
    assert FrameSource({**settings, "frame_store": False}, 32).store is None   # YAML's bare off
    with pytest.raises(UserError, match="dataset.frame_store_short_side=48: below backbone.image_size=224"):
        FrameSource({**settings, "frame_store": "auto"}, 224)
    with pytest.raises(UserError, match="dataset.frame_store=on: choose one of off, auto, write, read"):
        FrameSource({**settings, "frame_store": "on"}, 32)
    assert not (tmp_path / "frames").exists()                                   # nothing made until a write


def test_write_mode_rebuilds_the_runs_entries_once_up_front_and_read_mode_checks_them(tmp_path):
    videos = [encode(tmp_path / f"v{i}.avi", 12, gray_frame) for i in range(3)]
    settings = {"frame_store": "write", "decode_resize": False, "frame_store_dir": str(tmp_path / "frames"),
                "frame_store_short_side": 48, "frame_store_quality": 90}
    source = FrameSource(settings, image_size=32)
    first = {v: source.store.build(v).stat().st_ino for v in videos[:2]}        # an older store holds two
    source.prepare({"train": videos[:2], "test": videos[2:]}, trainer=None, num_workers=0)
    rebuilt = {v: source.store.entry(v).stat().st_ino for v in videos}
    assert all(rebuilt[v] != first[v] for v in first)                          # replaced, not kept
    source.prepare({"train": videos}, trainer=None, num_workers=0)              # once per run
    assert {v: source.store.entry(v).stat().st_ino for v in videos} == rebuilt
    reader = FrameSource({**settings, "frame_store": "read"}, image_size=32)
    reader.check({"train": videos})                                             # all there: no error
    source.store.entry(videos[1]).unlink()
    with pytest.raises(UserError, match=r"frame_store=read: 1 of 3 videos \(train 1\) have no entry in .*frames"):
        FrameSource({**settings, "frame_store": "read"}, image_size=32).check({"train": videos})
