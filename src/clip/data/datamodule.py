"""task=clip data: the resolved `cfg.dataset` + `cfg.backbone` sections -> train / val / test video loaders.

`prepare_data()` makes the synthetic set when `dataset.generate_if_missing` is on and the root is absent. The index
is read on first use (cheap: file lists, no decoding): the builder reads `class_names` right after prepare_data,
so a missing dataset fails before any model is built. `setup()` builds the datasets. Splits: train = the official
train list minus a `val_fraction` hold-out by group (no actor/scene in both), val = that hold-out, unless the
dataset has its own validation split (a list file's val list, Kinetics' val folder, SSv2's validation.json); test =
the official test split. Then `k_train` / `k_val` videos per class are drawn with the run seed.
"""
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from src.clip.data.class_names import prompt_names
from src.clip.data.class_subset import restrict_classes
from src.clip.data.dataset import VideoClipDataset, collate_skip_bad
from src.clip.data.few_shot import group_holdout, k_per_class
from src.clip.data.frame_source import FrameSource
from src.clip.data.index import open_index
from src.clip.data.index_cache import IndexFile
from src.clip.data.records import VideoRecord
from src.clip.data.sampler import FrameSampler
from src.clip.data.transforms import VideoTransform
from src.core.errors import UserError
from src.core.samplers import eval_sampler, train_loader, train_sampler

log = logging.getLogger(__name__)


@dataclass
class VideoSplits:
    """The videos of each split, after the hold-out and few-shot draws, and the class names."""
    raw_class_names: list[str]
    train: Sequence[VideoRecord]     # RecordRows when the index came from the index cache (records built on access)
    val: Sequence[VideoRecord]
    test: Sequence[VideoRecord]
    val_source: str


class VideoDataModule(pl.LightningDataModule):
    def __init__(self, dataset: dict, backbone: dict, seed: int, cache_dir: Path | None = None):
        """`cache_dir`: `paths.cache_dir`, where `dataset.index_cache` keeps the dataset index (None: no cache)."""
        super().__init__()
        self.dataset_cfg, self.backbone_cfg, self.seed, self.cache_dir = dict(dataset), dict(backbone), seed, cache_dir
        self.index_file: IndexFile | None = None  # a scanned index the index cache does not hold yet (keep_index)
        self.sampler = FrameSampler(dataset["num_frames"], dataset["num_temporal_views"], dataset["frame_interval"])
        self.frames = FrameSource(dataset, backbone["image_size"])  # the videos, or the decoded-frame store
        self.train_set = self.val_set = self.test_set = None  # built by setup(); cached features via use_cached()

    def prepare_data(self) -> None:
        """Make the synthetic set if configured and missing. Idempotent and safe to run in several processes at
        once (built in a temp folder, then renamed), which the builders rely on (see src/clip/task.py)."""
        generate_if_missing(self.dataset_cfg)

    @cached_property
    def splits(self) -> VideoSplits:
        """Read once, on first use (after prepare_data); `dataset.class_subset` keeps base or novel classes only."""
        dataset, seed = self.dataset_cfg, self.seed
        index, self.index_file = open_index(dataset, cache_dir=self.cache_dir)
        index = restrict_classes(index, dataset["class_subset"], dataset["base_classes"])
        if index.val is None:
            train, val = group_holdout(index.train, dataset["val_fraction"], seed)
            val_source = f"{dataset['val_fraction']:.0%} of the train list, held out by group"
        else:
            train, val, val_source = index.train, index.val, "the dataset's validation split"
        splits = VideoSplits(list(index.class_names), k_per_class(train, dataset["k_train"], seed),
                             k_per_class(val, dataset["k_val"], seed), index.test, val_source)
        for split, records in (("train", splits.train), ("val", splits.val)):
            if not records:
                raise UserError(f"dataset {dataset['name']}: the {split} split is empty; check dataset.root "
                                f"({dataset['root']}), the split lists and dataset.val_fraction")
        log.info("%s: %d classes; %d train videos (k_train=%s), %d val (%s, k_val=%s), %d test",
                 dataset["name"], len(splits.raw_class_names), len(splits.train), dataset["k_train"],
                 len(splits.val), val_source, dataset["k_val"], len(splits.test))
        # Lightning runs a test loop only when `test_dataloader` is defined: define it only with a test split.
        if splits.test:
            self.test_dataloader = self._test_dataloader
        return splits

    def setup(self, stage: str | None = None) -> None:
        self.keep_index()
        if self.train_set is not None:
            return  # built once: a later stage (test after fit) keeps the datasets, cached ones included
        self.frames.prepare(self.videos_by_split(stage), self.trainer, self.dataset_cfg["num_workers"])
        self.train_set = self._pixels(self.train_records, train=True)
        self.val_set = self._pixels(self.val_records, train=False)
        self.test_set = self._pixels(self.test_records, train=False)

    def keep_index(self) -> None:
        """Write a scanned index to the index cache on global rank 0, once bad input can no longer stop the run."""
        self.splits  # noqa: B018  (reads the index if nothing has yet)
        unwritten, self.index_file = self.index_file, None
        if unwritten is not None and (self.trainer is None or self.trainer.is_global_zero):
            unwritten.write()

    def _pixels(self, records: Sequence[VideoRecord], train: bool) -> VideoClipDataset:
        transform = self._transform(train=train)
        return VideoClipDataset(records, self.sampler, transform, train, self.seed, self.frames.opener(transform))

    def videos_by_split(self, stage: str | None = None) -> dict[str, list[Path]]:
        """The videos each split reads, for the frame store's check and up-front build: every split for training
        (stage fit or None), only the evaluated one for a test or validate pass."""
        splits = {"train": self.train_records, "val": self.val_records, "test": self.test_records}
        names = {"test": ("test",), "validate": ("val",)}.get(stage, tuple(splits))
        return {name: [r.path for r in splits[name]] for name in names}

    # --------------------------------------------------------------------------------- frame-feature cache
    def cacheable_sets(self, include_train: bool) -> dict[str, VideoClipDataset]:
        """Pixel datasets with deterministic sampling, whose frame features can be cached (split -> dataset).

        Training is cacheable only without augmentation, and then uses the evaluation's centred sampling and a
        centre crop (no temporal jitter): the price of encoding each training video once.
        """
        sets = {"val": self._pixels(self.val_records, train=False)}
        if self.has_test:
            sets["test"] = self._pixels(self.test_records, train=False)
        if include_train:
            transform = self._transform(train=True)
            sets["train"] = VideoClipDataset(self.train_records, self.sampler, transform, False, self.seed,
                                             self.frames.opener(transform))
        return sets

    def use_cached(self, split: str, dataset) -> None:
        """Serve `split` from `dataset` (its cached features) from the next dataloader on."""
        setattr(self, f"{split}_set", dataset)

    # ---------------------------------------------------------------------------------------------- loaders
    def train_dataloader(self):
        sampler = train_sampler(self.train_set, seed=self.seed, trainer=self.trainer)
        return train_loader(self.train_set, sampler=sampler, seed=self.seed, trainer=self.trainer, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.val_set)

    def _test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_set)

    def _eval_loader(self, dataset) -> DataLoader:
        # Under DDP each video goes to exactly one rank (no padding repeats): counts and metrics are exact.
        return DataLoader(dataset, sampler=eval_sampler(dataset, self.trainer), shuffle=False,
                          **self._loader_kwargs())

    def _loader_kwargs(self) -> dict:
        cfg = self.dataset_cfg
        workers = cfg["num_workers"]
        return dict(
            batch_size=cfg["batch_size"], drop_last=False, num_workers=workers,
            pin_memory=self._pin_memory(), collate_fn=collate_skip_bad,
            persistent_workers=bool(cfg["persistent_workers"]) and workers > 0,
            prefetch_factor=cfg["prefetch_factor"] if workers > 0 else None,   # only allowed with workers
        )

    def _pin_memory(self) -> bool:
        pin = self.dataset_cfg["pin_memory"]
        if pin == "auto":
            return torch.cuda.is_available()
        if not isinstance(pin, bool):
            raise UserError(f"dataset.pin_memory: {pin!r} must be auto, true or false")
        return pin

    def _transform(self, train: bool) -> VideoTransform:
        cfg, backbone = self.dataset_cfg, self.backbone_cfg
        flip = cfg["flip_prob"] if train and cfg["augment"] else 0.0   # so runs from before flip_prob evaluate
        return VideoTransform(train=train, augment=cfg["augment"], image_size=backbone["image_size"],
                              mean=backbone["mean"], std=backbone["std"], num_spatial_views=cfg["num_spatial_views"],
                              crop_scale=cfg["crop_scale"], color_jitter=cfg["color_jitter"], flip_prob=flip)

    # ------------------------------------------------------------------------------------------- description
    @property
    def raw_class_names(self) -> list[str]:
        return self.splits.raw_class_names

    @property
    def class_names(self) -> list[str]:
        """Prompt text ("ApplyEyeMakeup" -> "apply eye makeup")."""
        return prompt_names(self.splits.raw_class_names)

    @property
    def train_records(self) -> Sequence[VideoRecord]:
        return self.splits.train

    @property
    def val_records(self) -> Sequence[VideoRecord]:
        return self.splits.val

    @property
    def test_records(self) -> Sequence[VideoRecord]:
        return self.splits.test

    @property
    def val_source(self) -> str:
        return self.splits.val_source

    @property
    def has_test(self) -> bool:
        return bool(self.splits.test)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_train(self) -> int:
        return len(self.train_records)

    @property
    def num_val(self) -> int:
        return len(self.val_records)

    @property
    def num_test(self) -> int:
        return len(self.test_records)

    def describe(self) -> dict:
        """What the run trains and evaluates on (for validation_results.json and the logs)."""
        cfg = self.dataset_cfg
        temporal, spatial = cfg["num_temporal_views"], cfg["num_spatial_views"]
        return {
            "dataset": cfg["name"], "format": cfg["format"], "root": str(cfg["root"]),
            "num_classes": self.num_classes,
            "num_videos": {"train": self.num_train, "val": self.num_val, "test": self.num_test},
            "val_source": self.val_source,
            "k_train": cfg["k_train"], "k_val": cfg["k_val"], "seed": self.seed,
            "frames_per_view": cfg["num_frames"], "frame_interval": cfg["frame_interval"],
            "num_temporal_views": temporal, "num_spatial_views": spatial,
            "views_per_video": {"train": temporal, "eval": temporal * spatial},
            "image_size": self.backbone_cfg["image_size"], "augment": cfg["augment"],
            "frames_from": self.frames.describe(),
            "class_names": list(self.class_names), "raw_class_names": list(self.raw_class_names),
        }


def generate_if_missing(dataset: dict) -> None:
    """Make the synthetic set (data_tools.make_synthetic) when `generate_if_missing` is on and the root is absent."""
    root = Path(dataset["root"])
    if root.exists() or not dataset["generate_if_missing"]:
        return
    if "synthetic" not in dataset:
        raise UserError("dataset.synthetic: missing (seed, groups, clips_per_group, num_frames, width, height); "
                        "add it or set dataset.generate_if_missing=false")
    from src.synthetic.datasets import make_action_dataset

    log.info("%s does not exist: generating the synthetic action set there", root)
    make_action_dataset(root, **dataset["synthetic"])
