"""Dataset index: which videos exist, their labels and groups, per split — read once, before training.

`read_index(cfg.dataset)` picks the reader by `dataset.format` (one file per format in src/clip/data/readers/).
Paths are checked here, once, so a typo in a list file is one clear error before training starts; the dataset
checker (src/clip/data/check.py) calls it with strict=False to list every missing video instead.
"""
from pathlib import Path

from src.clip.data.readers.hmdb51 import read_hmdb51
from src.clip.data.readers.kinetics400 import read_kinetics400
from src.clip.data.readers.list_file import read_list
from src.clip.data.readers.ucf101 import read_ucf101
from src.clip.data.records import DatasetIndex, VideoRecord
from src.core.errors import UserError

__all__ = ["DatasetIndex", "VideoRecord", "read_hmdb51", "read_index", "read_kinetics400", "read_list",
           "read_ucf101"]

FORMATS = ("ucf101", "hmdb51", "kinetics400", "list")


def read_index(dataset: dict, strict: bool = True) -> DatasetIndex:
    """The index of the dataset described by the resolved `cfg.dataset` section.

    strict=False: listed videos that are not on disk are left out and noted in `index.missing` instead of
    stopping (UCF-101, HMDB-51, list files) or of stopping above dataset.max_missing_fraction (Kinetics-400).
    """
    root = Path(dataset["root"])
    if not root.is_dir():
        # A relative root (the default data/…) is relative to the folder the command runs in: say which.
        where = "" if root.is_absolute() else f" (relative to the current folder {Path.cwd()})"
        raise UserError(f"dataset root {root}{where} does not exist; {dataset['get_it']}")
    fmt = dataset["format"]
    if fmt == "ucf101":
        return read_ucf101(root, dataset["split"], strict)
    if fmt == "hmdb51":
        return read_hmdb51(root, dataset["split"], strict)
    if fmt == "kinetics400":
        if dataset.get("max_missing_fraction") is None:
            raise UserError("dataset.max_missing_fraction: not set; a Kinetics-style dataset needs it (the fraction "
                            "of listed clips a split may lack, e.g. 0.1; see conf/dataset/kinetics400.yaml)")
        return read_kinetics400(root, dataset["max_missing_fraction"], strict)
    if fmt == "list":
        return read_list(root, dataset["train_list"], dataset["val_list"], dataset["test_list"],
                         dataset["class_names_file"], strict)
    raise UserError(f"dataset.format: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
