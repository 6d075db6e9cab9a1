"""The task=clip data path: frame sampling, PyAV decoding, transforms, the dataset, collate and the datamodule.

The videos carry their frame index in their pixels (tests/clip/video_helpers.py), so a test can check that the
frames that come out are the frames that were asked for.
"""
import logging
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from pytorch_lightning.utilities.model_helpers import is_overridden

from src.clip.data.datamodule import VideoDataModule
from src.clip.data.dataset import VideoClipDataset, collate_skip_bad
from src.clip.data.reader import VideoReader, read_frames
from src.clip.data.records import VideoRecord
from src.clip.data.sampler import FrameSampler
from src.clip.data.transforms import VideoTransform
from src.core.errors import BadVideoError, UserError
from tests.clip.video_helpers import CODECS, encode, gray_frame, gray_index, stripe_frame, stripe_index
from tests.composed import section

CONF = Path(__file__).resolve().parents[2] / "conf"
JITTER = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}


@pytest.fixture(scope="module")
def stripe_videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stripes")
    return {suffix: encode(folder / f"v{suffix}", 120, stripe_frame) for suffix in CODECS}


# ------------------------------------------------------------------------------------------------- sampling
def test_segments_eval_takes_segment_centres_split_into_contiguous_views():
    indices = FrameSampler(4, 2, None).indices(80, train=False, rng=np.random.default_rng(0))
    assert indices.tolist() == [[5, 15, 25, 35], [45, 55, 65, 75]]


def test_segments_train_draw_one_random_frame_inside_each_segment():
    sampler = FrameSampler(4, 2, None)
    draws = np.stack([sampler.indices(80, True, np.random.default_rng(seed)) for seed in range(30)])  # (30, 2, 4)
    segment = np.arange(8).reshape(2, 4) * 10
    assert ((draws >= segment) & (draws < segment + 10)).all()
    assert len({tuple(d.ravel()) for d in draws}) > 20                        # offsets really vary
    again = sampler.indices(80, True, np.random.default_rng(3))
    assert (again == draws[3]).all()                                           # and follow the generator


def test_dense_clips_use_the_stride_evenly_in_eval_randomly_in_train():
    sampler = FrameSampler(4, 3, 2)
    assert sampler.indices(100, False, np.random.default_rng(0)).tolist() == [
        [0, 2, 4, 6], [46, 48, 50, 52], [93, 95, 97, 99]]
    assert FrameSampler(4, 1, 2).indices(100, False, np.random.default_rng(0)).tolist() == [[46, 48, 50, 52]]
    clips = sampler.indices(100, True, np.random.default_rng(1))
    assert (np.diff(clips, axis=1) == 2).all() and clips.min() >= 0 and clips.max() <= 99


@pytest.mark.parametrize("interval", [None, 3])
def test_short_videos_repeat_frames_instead_of_failing(interval):
    for train in (False, True):
        indices = FrameSampler(8, 2, interval).indices(5, train, np.random.default_rng(0))
        assert indices.shape == (2, 8) and indices.min() >= 0 and indices.max() <= 4
        assert (np.diff(indices, axis=1) >= 0).all()                          # each view in time order


# -------------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("suffix", list(CODECS))
def test_reader_returns_exactly_the_requested_frames(stripe_videos, suffix):
    rng = np.random.default_rng(0)
    with VideoReader(stripe_videos[suffix]) as video:
        assert video.num_frames == 120                     # .mkv: from the duration, .h264: packets counted
        for _ in range(6):
            indices = np.sort(rng.integers(0, 120, size=(2, 4)), axis=None).reshape(2, 4)
            indices[1, 0] = indices[0, 3]                                      # a repeated index
            decoded = video.read(indices)
            assert decoded.frames.shape == (len(np.unique(indices)), 3, 48, 64)
            assert decoded.frames.dtype == torch.uint8
            assert stripe_index(decoded.expand()).tolist() == indices.tolist()


def test_reader_seeks_and_decodes_far_fewer_frames_than_the_video_has(stripe_videos, monkeypatch):
    decoded_by_pyav = []
    real_open = av.open

    class CountingContainer:                       # counts what PyAV's decoder hands out, independently
        def __init__(self, container):
            self._container = container

        def __getattr__(self, name):
            return getattr(self._container, name)

        def decode(self, *args, **kwargs):
            for frame in self._container.decode(*args, **kwargs):
                decoded_by_pyav.append(frame.pts)
                yield frame

    monkeypatch.setattr(av, "open", lambda *a, **k: CountingContainer(real_open(*a, **k)))
    indices = np.array([[100, 102, 104, 106]])                                # near the end
    decoded = read_frames(stripe_videos[".avi"], indices)
    assert stripe_index(decoded.expand()).tolist() == indices.tolist()
    assert len(decoded_by_pyav) == decoded.num_decoded <= 17                   # keyframe 100, not frame 0
    decoded_by_pyav.clear()
    spread = np.array([[3, 5], [110, 112]])                                    # two far-apart runs: two seeks
    assert stripe_index(read_frames(stripe_videos[".mp4"], spread).expand()).tolist() == spread.tolist()
    assert len(decoded_by_pyav) < 40


def test_bad_videos_raise_bad_video_error(tmp_path, stripe_videos):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.avi"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    for path in (empty, noise, tmp_path / "absent.avi"):
        with pytest.raises(BadVideoError, match=path.name):
            read_frames(path, np.array([0]))
    truncated = tmp_path / "truncated.avi"                                     # header says 120 frames
    data = stripe_videos[".avi"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadVideoError, match="truncated.avi: truncated"):
        read_frames(truncated, np.array([0, 119]))


# ------------------------------------------------------------------------------------------------ transforms
def column_ramp(n: int, height: int, width: int) -> torch.Tensor:
    """(n, 3, height, width) uint8 whose pixel value is its column index."""
    return torch.arange(width, dtype=torch.uint8).expand(n, 3, height, width).clone()


def test_eval_crops_slide_along_the_long_side_and_normalise():
    frames = column_ramp(2, 48, 96)
    views = VideoTransform(False, False, 48, [0, 0, 0], [1, 1, 1], 3, [0.6, 1.0], JITTER, 0.5)(frames)
    assert views.shape == (3, 2, 3, 48, 48) and views.dtype == torch.float32
    assert (views[:, 0, 0, 0, 0] * 255).round().tolist() == [0, 24, 48]       # start, centre, end
    centre = VideoTransform(False, False, 48, [0, 0, 0], [1, 1, 1], 1, [0.6, 1.0], JITTER, 0.5)(frames)
    assert torch.equal(centre[0], views[1])
    rows = column_ramp(1, 48, 96).transpose(-1, -2)                            # 96 high, 48 wide: value = row
    portrait = VideoTransform(False, False, 24, [0, 0, 0], [1, 1, 1], 3, [0.6, 1.0], JITTER, 0.5)(rows)
    assert portrait.shape == (3, 1, 3, 24, 24)                                 # resized to 48 x 24 first
    top_rows = (portrait[:, 0, 0, 0, 0] * 255).tolist()                        # crops start at rows 0, 12, 24
    assert top_rows[0] < 2 and 23 < top_rows[1] < 26 and 47 < top_rows[2] < 50
    white = torch.full((1, 3, 40, 40), 255, dtype=torch.uint8)
    normalised = VideoTransform(False, False, 32, [0.5, 0.25, 0.0], [0.5, 0.25, 2.0], 1, [0.6, 1.0], JITTER, 0.5)(white)
    assert torch.allclose(normalised[0, 0, :, 5, 5], torch.tensor([1.0, 3.0, 0.5]))


def test_training_augmentation_is_one_random_draw_for_the_whole_clip():
    torch.manual_seed(0)
    one_image = torch.randint(0, 256, (1, 3, 48, 64), dtype=torch.uint8)
    clip = one_image.repeat(6, 1, 1, 1)                                        # 6 identical frames
    augment = VideoTransform(True, True, 32, [0, 0, 0], [1, 1, 1], 3, [0.3, 1.0], JITTER, 0.5)
    first, second = augment(clip), augment(clip)
    assert first.shape == (1, 6, 3, 32, 32)                                    # training: one view
    assert torch.equal(first[0], first[0, :1].expand_as(first[0]))            # every frame moved alike
    assert not torch.allclose(first, second)                                   # but it is random per clip
    plain = VideoTransform(True, False, 32, [0, 0, 0], [1, 1, 1], 3, [0.3, 1.0], JITTER, 0.5)(clip)
    eval_centre = VideoTransform(False, False, 32, [0, 0, 0], [1, 1, 1], 1, [0.3, 1.0], JITTER, 0.5)(clip)
    assert torch.equal(plain, eval_centre)                                     # augment off: resize + centre


# ------------------------------------------------------------------------------------------ dataset + collate
def test_dataset_item_views_are_temporal_major(tmp_path):
    path = encode(tmp_path / "gray.mp4", 24, gray_frame)
    sampler = FrameSampler(3, 2, None)                                         # centres 2, 6, 10 | 14, 18, 22
    transform = VideoTransform(False, False, 32, [0, 0, 0], [1, 1, 1], 3, [0.6, 1.0], JITTER, 0.5)
    item = VideoClipDataset([VideoRecord(path, 4, None)], sampler, transform, False, 0)[0]
    assert item["label"] == 4 and item["index"] == 0
    video = item["video"]
    assert video.shape == (6, 3, 3, 32, 32)                                    # V = 2 temporal x 3 spatial
    shown = gray_index(video.mean(dim=(-3, -2, -1)))                           # (V, T)
    assert shown.tolist() == [[2, 6, 10]] * 3 + [[14, 18, 22]] * 3


def test_bad_videos_are_skipped_warned_once_and_counted(tmp_path, caplog):
    good = encode(tmp_path / "good.avi", 24, gray_frame)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    transform = VideoTransform(False, False, 32, [0, 0, 0], [1, 1, 1], 1, [0.6, 1.0], JITTER, 0.5)
    records = [VideoRecord(good, 0, None), VideoRecord(bad, 1, None), VideoRecord(good, 2, None)]
    dataset = VideoClipDataset(records, FrameSampler(4, 1, None), transform, True, 0)
    with caplog.at_level(logging.WARNING):
        items = [dataset[i] for i in (0, 1, 2, 1)]
    assert items[1] is None and items[3] is None
    assert sum("bad.mp4" in record.getMessage() for record in caplog.records) == 1
    batch = collate_skip_bad(items)
    assert batch["video"].shape == (2, 1, 4, 3, 32, 32)
    assert batch["label"].tolist() == [0, 2] and batch["index"].tolist() == [0, 2]
    assert batch["num_bad"].item() == 2
    empty = collate_skip_bad([None, None])
    assert empty["video"].shape[0] == 0 and empty["label"].shape == (0,) and empty["num_bad"].item() == 2


# -------------------------------------------------------------------------------------------------- datamodule
def tiny_ucf_video(name: str, group: int) -> str:
    return f"{name}/v_{name}_g{group:02d}_c01{'.avi' if group % 2 else '.mp4'}"


@pytest.fixture(scope="module")
def tiny_ucf(tmp_path_factory) -> Path:
    """2 classes x 4 groups of one 24-frame gray video (g04 tests) + one corrupt test video."""
    root = tmp_path_factory.mktemp("ucf") / "UCF-101"
    train, test = [], []
    for label, name in enumerate(["ApplyEyeMakeup", "YoYo"], start=1):
        for group in range(1, 5):
            rel = tiny_ucf_video(name, group)
            encode(root / rel, 24, gray_frame)
            (test.append(rel) if group == 4 else train.append(f"{rel} {label}"))
    (root / "YoYo" / "v_YoYo_g04_c02.avi").write_bytes(b"not a video")
    test.append("YoYo/v_YoYo_g04_c02.avi")
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (lists / "testlist01.txt").write_text("\n".join(test) + "\n")
    return root


def dataset_cfg(root: Path, **overrides) -> dict:
    """conf/dataset/ucf101.yaml (the config contract) with test-sized values."""
    return {**section("dataset", ["dataset=ucf101"]), "root": str(root), "num_frames": 3, "num_temporal_views": 2,
            "num_spatial_views": 1, "val_fraction": 0.34, "batch_size": 4, "num_workers": 0, **overrides}


def backbone_cfg() -> dict:
    return {**section("backbone", ["backbone=clip_b16"]), "image_size": 32, "mean": [0.0, 0.0, 0.0],
            "std": [1.0, 1.0, 1.0]}


def test_datamodule_splits_and_batches(tiny_ucf):
    dm = VideoDataModule(dataset_cfg(tiny_ucf), backbone_cfg(), seed=0)
    dm.setup("fit")
    assert dm.class_names == ["apply eye makeup", "yo yo"] and dm.raw_class_names == ["ApplyEyeMakeup", "YoYo"]
    assert (dm.num_train, dm.num_val, dm.num_test) == (4, 2, 3)              # 1 of 3 train groups per class
    train_groups = {(r.label, r.group) for r in dm.train_records}
    assert not train_groups & {(r.label, r.group) for r in dm.val_records}
    assert {r.label for r in dm.val_records} == {0, 1}

    val = next(iter(dm.val_dataloader()))
    assert val["video"].shape == (2, 2, 3, 3, 32, 32) and val["num_bad"].item() == 0
    assert [dm.val_records[i].label for i in val["index"]] == val["label"].tolist()
    shown = gray_index(val["video"].mean(dim=(-3, -2, -1)))                   # (B, V, T)
    assert shown.tolist() == [[[2, 6, 10], [14, 18, 22]]] * 2                  # 6 segment centres of 24 frames

    train = list(dm.train_dataloader())
    assert sum(len(b["label"]) for b in train) == 4 and train[0]["video"].shape[1:] == (2, 3, 3, 32, 32)
    test = list(dm.test_dataloader())
    assert dm.has_test and is_overridden("test_dataloader", dm)                # Lightning will run the test loop
    assert sum(len(b["label"]) for b in test) == 2 and sum(b["num_bad"].item() for b in test) == 1

    info = dm.describe()
    assert info["num_videos"] == {"train": 4, "val": 2, "test": 3}
    assert info["views_per_video"] == {"train": 2, "eval": 2} and info["frames_per_view"] == 3
    assert info["class_names"] == dm.class_names


def test_datamodule_few_shot_loader_options_and_no_test_split(tiny_ucf, tmp_path):
    names = tmp_path / "classes.txt"
    names.write_text("ApplyEyeMakeup\nYoYo\n")
    train_list = tmp_path / "train.txt"
    train_list.write_text("".join(f"{tiny_ucf_video(name, group)} {label}\n"      # 0-based labels
                                  for label, name in enumerate(["ApplyEyeMakeup", "YoYo"]) for group in (1, 2, 3)))
    cfg = dataset_cfg(tiny_ucf, format="list", train_list=str(train_list), val_list=None, test_list=None,
                      class_names_file=str(names), k_train=1, k_val=1, pin_memory=False, num_workers=1)
    dm = VideoDataModule(cfg, backbone_cfg(), seed=0)
    dm.setup("fit")
    assert (dm.num_train, dm.num_val, dm.num_test) == (2, 2, 0)
    assert not dm.has_test and not is_overridden("test_dataloader", dm)
    loader = dm.train_dataloader()
    assert loader.num_workers == 1 and loader.persistent_workers and loader.prefetch_factor == 2
    assert sorted(b for batch in loader for b in batch["label"].tolist()) == [0, 1]   # through a worker
    serial_dm = VideoDataModule({**cfg, "num_workers": 0}, backbone_cfg(), seed=0)
    serial_dm.setup("fit")
    serial = serial_dm.val_dataloader()
    assert not serial.persistent_workers and serial.prefetch_factor is None and not serial.pin_memory


def test_datamodule_missing_root_and_generation(tmp_path, tiny_ucf, monkeypatch):
    missing = tmp_path / "nowhere"
    unprepared = VideoDataModule(dataset_cfg(missing), backbone_cfg(), seed=0)  # reads nothing yet
    unprepared.prepare_data()                                                  # generation is off: nothing made
    with pytest.raises(UserError, match=f"dataset root {missing} does not exist; download UCF101.rar"):
        unprepared.setup("fit")                                                # the index is read on first use
    assert not missing.exists()

    import shutil

    import src.synthetic.datasets as make_synthetic

    calls = []

    def fake_make_action_dataset(root, **spec):                                # a copy instead of rendering
        calls.append(spec)
        shutil.copytree(tiny_ucf, root)
        return root

    monkeypatch.setattr(make_synthetic, "make_action_dataset", fake_make_action_dataset)
    synthetic = section("dataset", ["dataset=synthetic"])["synthetic"]
    dm = VideoDataModule(dataset_cfg(missing, generate_if_missing=True, synthetic=synthetic), backbone_cfg(), 0)
    assert calls == [] and not missing.exists()                               # Lightning's place: prepare_data
    dm.prepare_data()
    dm.prepare_data()                                                          # idempotent: the set exists now
    assert calls == [synthetic] and set(synthetic) == {"seed", "groups", "clips_per_group", "num_frames",
                                                       "width", "height"}
    assert dm.num_classes == 2 and missing.is_dir()
