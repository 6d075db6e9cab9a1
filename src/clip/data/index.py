"""Dataset index: which videos exist, their labels and groups, per split — read once, before training.

`read_index(cfg.dataset, cache_dir=cfg.paths.cache_dir)` picks the reader by `dataset.format` (one file per format
in src/clip/data/readers/) and, with `dataset.index_cache` auto or rebuild, keeps its scan in the index cache
(src/clip/data/index_cache.py). Paths are checked when scanning, so a typo in a list file is one clear error before
training starts; the dataset checker (src/clip/data/check.py) calls it with strict=False to list every missing video
instead.
"""
from pathlib import Path

from src.clip.data import readers
from src.clip.data.index_cache import IndexFile, open_cached, parse_index_cache
from src.clip.data.readers import hmdb51, kinetics400, list_file, ssv2, ucf101
from src.clip.data.readers.hmdb51 import read_hmdb51
from src.clip.data.readers.kinetics400 import read_kinetics400
from src.clip.data.readers.list_file import read_list
from src.clip.data.readers.ucf101 import read_ucf101
from src.clip.data.records import DatasetIndex, VideoRecord
from src.core.errors import UserError

__all__ = ["DatasetIndex", "VideoRecord", "open_index", "read_hmdb51", "read_index", "read_kinetics400",
           "read_list", "read_ucf101"]

READERS: dict[str, readers.Reader] = {"ucf101": ucf101.READER, "hmdb51": hmdb51.READER,
                                      "kinetics400": kinetics400.READER, "ssv2": ssv2.READER, "list": list_file.READER}
# Web-scale downloads that always lack some listed videos: their readers need dataset.max_missing_fraction.
COUNTS_MISSING = ("kinetics400", "ssv2")


def read_index(dataset: dict, strict: bool = True, cache_dir: Path | None = None) -> DatasetIndex:
    """The index of the dataset described by the resolved `cfg.dataset` section; a scan is written to the index
    cache at once (for a run, whose checks are not all done yet, see open_index).

    strict=False: listed videos that are not on disk are left out and noted in `index.missing` instead of
    stopping (UCF-101, HMDB-51, list files) or of stopping above dataset.max_missing_fraction (Kinetics, SSv2).
    cache_dir: `paths.cache_dir`, where `dataset.index_cache` keeps the index; None scans (no cache).
    """
    index, unwritten = open_index(dataset, strict, cache_dir)
    if unwritten is not None:
        unwritten.write()
    return index


def open_index(dataset: dict, strict: bool = True, cache_dir: Path | None = None
               ) -> tuple[DatasetIndex, IndexFile | None]:
    """(index, its IndexFile to write once the run is under way, or None: read from the cache, or no cache).
    The splits of an index read from the cache are RecordRows (records built on access), else lists."""
    root = Path(dataset["root"])
    if not root.is_dir():
        # A relative root (the default data/…) is relative to the folder the command runs in: say which.
        where = "" if root.is_absolute() else f" (relative to the current folder {Path.cwd()})"
        raise UserError(f"dataset root {root}{where} does not exist; {dataset['get_it']}")
    fmt = dataset["format"]
    if fmt not in READERS:
        raise UserError(f"dataset.format: unknown format {fmt!r}; use one of {', '.join(READERS)}")
    if fmt in COUNTS_MISSING and dataset.get("max_missing_fraction") is None:
        raise UserError(f"dataset.max_missing_fraction: not set; the {fmt} format needs it (the fraction of listed "
                        f"clips a split may lack, e.g. 0.1; see conf/dataset/{fmt}.yaml)")
    reader = READERS[fmt]

    def check(index: DatasetIndex) -> DatasetIndex:
        return reader.check(index, dataset, strict)

    mode = "off" if cache_dir is None else parse_index_cache(dataset["index_cache"])
    if mode == "off":
        return check(reader.scan(root, dataset)), None
    return open_cached(reader, root, dataset, Path(cache_dir), mode == "rebuild", check)
