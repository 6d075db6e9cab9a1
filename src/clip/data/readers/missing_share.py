"""Videos an annotation file lists that the download lacks (Kinetics, Something-Something v2): counted per split.

Web-scale downloads are never complete (YouTube videos disappear; a mirror misses a tar part), so a reader leaves
the missing ones out and notes them in `index.missing`; this check, run on every index (scanned or from the index
cache), warns with the count per split and, strict, stops when more than `dataset.max_missing_fraction` of a split
is missing: then the download is unfinished or `dataset.root` points at the wrong folder.
"""
import logging

from src.clip.data.record_rows import column
from src.clip.data.records import DatasetIndex
from src.core.errors import UserError

log = logging.getLogger(__name__)


def check_missing_share(index: DatasetIndex, max_fraction: float, strict: bool) -> None:
    """Warn about each split's missing videos; strict: above max_fraction of a split listed is a UserError."""
    splits = {"train": index.train, "val": index.val, "test": [] if index.test is index.val else index.test}
    missing_split = column(index.missing, "split")
    for split, records in splits.items():
        absent = [i for i, name in enumerate(missing_split) if name == split]
        if not absent:
            continue
        first, listed = index.missing[absent[0]], len(records) + len(absent)
        message = (f"{first.where.rsplit(':', 1)[0]}: {len(absent)} of {listed} listed {split} clips are not on "
                   f"disk (first: {first.path.name})")
        if strict and len(absent) > max_fraction * listed:
            raise UserError(f"{message}, more than dataset.max_missing_fraction={max_fraction}; finish the "
                            "download or raise dataset.max_missing_fraction")
        log.warning("%s; they are left out (incomplete download)", message)
