"""The task=header LightningDataModule: train/val CSVs of `.npy` clips -> batches of (B, 3, T, S, S) clips.

`prepare_data()` makes the synthetic set when configured; both CSVs are read and checked on first use (the builder
reads `class_counts` before it builds the module, in the main process, before the Trainer starts), so bad input
is one clear error instead of a crash inside a DataLoader worker.
"""
import logging
from functools import cached_property
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only
from torch.utils.data import DataLoader

from src.core.errors import UserError
from src.core.loader_options import pin_memory
from src.core.samplers import Subsample, subsample_size, train_loader, train_sampler
from src.header.data.dataset import HEADER, HeaderClipDataset, HeaderTable, collate_skip_bad, read_header_csv
from src.header.data.transforms import BatchAugment, build_clip_transform, check_augment_on

log = logging.getLogger(__name__)


def ensure_synthetic_header_data(dataset: dict) -> None:
    """dataset=header_synthetic: make the clips and the train/val split when the CSVs are missing."""
    train_csv, val_csv = Path(dataset["train_csv"]), Path(dataset["val_csv"])
    if train_csv.is_file() and val_csv.is_file():
        return
    if train_csv.parent != val_csv.parent or (train_csv.name, val_csv.name) != ("train.csv", "val.csv"):
        missing = next(f"dataset.{k}={p}" for k, p in (("train_csv", train_csv), ("val_csv", val_csv)) if not p.is_file())
        raise UserError(f"{missing}: no such file; fix the path (the synthetic set is generated only as "
                        f"<folder>/train.csv + <folder>/val.csv, the defaults)")
    from src.header.data.split import split_dataset
    from src.synthetic.datasets import make_header_dataset

    synth = dataset["synthetic"]
    log.info("generating synthetic header clips under %s", dataset["root"])
    all_csv = make_header_dataset(Path(dataset["root"]), seed=synth["seed"], num_clips=synth["num_clips"],
                                  num_frames=synth["num_frames"], size=synth["size"],
                                  positive_fraction=synth["positive_fraction"])
    # Paths relative to the split CSVs' folder: the set keeps working from any working directory.
    split_dataset([all_csv], train_csv.parent, root_dir=None, val_split=synth["val_split"], seed=synth["seed"],
                  group_col=None, allow_missing=False, relative_to=train_csv.parent)


def check_sampling(dataset: dict) -> None:
    """The two ways of drawing training clips exclude each other (their ranges: src/core/value_checks.py)."""
    if dataset["balanced_sampling"] and dataset["neg_pos_ratio"] is not None:
        raise UserError(f"dataset.balanced_sampling=true and dataset.neg_pos_ratio={dataset['neg_pos_ratio']} "
                        f"exclude each other; set dataset.balanced_sampling=false or dataset.neg_pos_ratio=null")


class HeaderDataModule(pl.LightningDataModule):
    def __init__(self, dataset: dict, *, mean: list[float], std: list[float], seed: int):
        super().__init__()
        self.cfg, self.seed = dataset, seed
        for key in ("train_csv", "val_csv"):
            if dataset[key] is None:
                raise UserError(f"dataset.{key} is not set; pass dataset.{key}=<csv> (make train.csv/val.csv with "
                                f"`python -m data_tools.split_dataset`), or use dataset=header_synthetic")
        check_sampling(dataset)
        self.neg_pos_ratio = dataset["neg_pos_ratio"]
        on_loader = check_augment_on(dataset["augment_on"]) == "loader"
        augment = dict(augment=dataset["augment"], flip_prob=dataset["flip_prob"],
                       color_jitter=dataset["color_jitter"], mean=mean, std=std)
        self.train_transform = build_clip_transform(input_size=dataset["input_size"], normalise=on_loader, **augment)
        # augment_on=device: training batches arrive as uint8 and are augmented in on_after_batch_transfer.
        self.batch_augment = None if on_loader else BatchAugment(**augment)
        self.val_transform = build_clip_transform(
            input_size=dataset["input_size"], augment=False, flip_prob=0.0, color_jitter={}, mean=mean, std=std,
            normalise=True)
        self.train_set = self.val_set = None  # built by setup(); cached features via use_cached()
        self._epoch_size_logged = False

    def prepare_data(self) -> None:
        """dataset.generate_if_missing: make the synthetic clips and their split when the CSVs are missing.
        Idempotent and safe to run in several processes at once (see src/header/task.py)."""
        if self.cfg["generate_if_missing"]:
            ensure_synthetic_header_data(self.cfg)

    @cached_property
    def train_table(self) -> HeaderTable:
        """Read and checked on first use (after prepare_data), in the main process: bad input is one clear error
        instead of a crash inside a DataLoader worker."""
        table = read_header_csv(Path(self.cfg["train_csv"]), name="dataset.train_csv", **self._read_options())
        if self.neg_pos_ratio is not None and table.class_counts[1] == 0:
            raise UserError(f"dataset.neg_pos_ratio={self.neg_pos_ratio}: {self.cfg['train_csv']} has no header "
                            f"clips, so every epoch would be empty; set dataset.neg_pos_ratio=null")
        if min(table.class_counts) == 0:
            log.warning("%s has no %s clips: the classifier cannot learn that class", self.cfg["train_csv"],
                        "header" if table.class_counts[1] == 0 else "non-header")
        return table

    @cached_property
    def val_table(self) -> HeaderTable:
        return read_header_csv(Path(self.cfg["val_csv"]), name="dataset.val_csv", **self._read_options())

    def _read_options(self) -> dict:
        return dict(check_clips=self.cfg["check_clips"], max_bad_fraction=self.cfg["max_bad_fraction"])

    @property
    def class_counts(self) -> list[int]:
        """Training clips per class: [non-header, header]."""
        return self.train_table.class_counts

    @property
    def epoch_class_counts(self) -> list[int]:
        """Training clips per class one epoch draws: [non-header, header] (the class-weighted loss's frequencies)."""
        negatives, positives = self.class_counts
        if self.neg_pos_ratio is None:
            return [negatives, positives]
        return [subsample_size(positives, negatives, self.neg_pos_ratio), positives]

    def describe(self) -> dict:
        """Figures for the run summary."""
        return {
            "train_clips": len(self.train_table.rows), "train_headers": self.class_counts[1],
            "train_clips_per_epoch": sum(self.epoch_class_counts),  # < train_clips with dataset.neg_pos_ratio
            "val_clips": len(self.val_table.rows), "val_headers": self.val_table.class_counts[1],
            # Unreadable clips found by the up-front check, per split (skipped at load time: train/bad_clips,
            # val/bad_clips in the metrics log).
            "train_bad_clips": len(self.train_table.bad_clips), "val_bad_clips": len(self.val_table.bad_clips),
        }

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return  # built once: a later stage keeps the datasets, cached ones included
        frames = self.cfg["num_frames"]
        self.train_set = HeaderClipDataset(self.train_table.rows, num_frames=frames, transform=self.train_transform,
                                           seed=self.seed)
        self.val_set = HeaderClipDataset(self.val_table.rows, num_frames=frames, transform=self.val_transform,
                                         seed=self.seed)

    def cacheable_sets(self) -> dict[str, HeaderClipDataset]:
        """Train and val clips under the evaluation transform: what a frozen backbone's feature cache holds
        (training then loses its augmentation)."""
        frames = self.cfg["num_frames"]
        return {split: HeaderClipDataset(table.rows, num_frames=frames, transform=self.val_transform, seed=self.seed)
                for split, table in (("train", self.train_table), ("val", self.val_table))}

    def use_cached(self, split: str, dataset) -> None:
        """Serve `split` from `dataset` (its cached features) from the next dataloader on."""
        setattr(self, f"{split}_set", dataset)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """augment_on=device: uint8 pixel batches (training) -> augmented, normalised float on the device."""
        if self.batch_augment is not None and isinstance(batch, dict) and "video" in batch \
                and batch["video"].dtype == torch.uint8:
            batch["video"] = self.batch_augment(batch["video"], training=self.trainer.training)
        return batch

    def train_dataloader(self):
        weights = subsample = None
        if self.cfg["balanced_sampling"]:
            # Each class drawn equally often (with replacement); under DDP Lightning wraps the sampler.
            counts = torch.tensor(self.class_counts, dtype=torch.double).clamp(min=1)
            weights = (1.0 / counts)[torch.as_tensor(self.train_set.labels)]
        if self.neg_pos_ratio is not None:  # all headers + neg_pos_ratio non-headers per header, drawn per epoch
            subsample = Subsample(self.train_set.labels, keep_label=HEADER, others_per_kept=self.neg_pos_ratio)
        sampler = train_sampler(self.train_set, seed=self.seed, trainer=self.trainer, weights=weights,
                                subsample=subsample)
        clips_per_epoch = len(self.train_set) if subsample is None else sampler.epoch_size
        if subsample is not None and not self._epoch_size_logged and rank_zero_only.rank == 0:
            self._epoch_size_logged = True  # a resume may build the loader twice: say it once
            log.info("dataset.neg_pos_ratio=%s: %d clips per epoch (%d headers + %d of %d non-headers, a new draw "
                     "each epoch)", self.neg_pos_ratio, clips_per_epoch, len(sampler.kept), sampler.num_drawn,
                     len(sampler.others))
        return train_loader(self.train_set, sampler=sampler, seed=self.seed, trainer=self.trainer,
                            **self._loader_kwargs(self.cfg["batch_size"], drop_last=clips_per_epoch > self.cfg["batch_size"]))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, shuffle=False, **self._loader_kwargs(self.cfg["val_batch_size"], drop_last=False))

    def _loader_kwargs(self, batch_size: int, *, drop_last: bool) -> dict:
        workers = self.cfg["num_workers"]
        return dict(batch_size=batch_size, drop_last=drop_last, num_workers=workers,
                    persistent_workers=bool(self.cfg["persistent_workers"]) and workers > 0,
                    pin_memory=pin_memory(self.cfg["pin_memory"]), collate_fn=collate_skip_bad)
