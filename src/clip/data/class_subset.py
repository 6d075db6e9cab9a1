"""Base / novel class halves (base-to-novel generalisation): keep one half of a dataset's classes, relabelled.

`dataset.class_subset`: null (every class) | base | novel. `dataset.base_classes`: null = the first half of the
official class index is base (ViFi-CLIP's protocol; with an odd count the extra class is novel), or a list of
raw class names (a published split dropped in). Novel = every other class, in class-index order.
"""
import logging
from collections.abc import Sequence

from src.clip.data.record_rows import RecordRows
from src.clip.data.records import DatasetIndex, VideoRecord
from src.core.errors import UserError

log = logging.getLogger(__name__)

SUBSETS = ("base", "novel")


def base_class_names(class_names: list[str], base_classes: list[str] | None) -> list[str]:
    if base_classes is None:
        return list(class_names[: len(class_names) // 2])
    unknown = [name for name in base_classes if name not in class_names]
    if unknown:
        raise UserError(f"dataset.base_classes: {unknown[:5]} are not classes of this dataset (its names are the "
                        "class folder / class index names, e.g. ApplyEyeMakeup); fix the list")
    return [name for name in class_names if name in set(base_classes)]   # class-index order


def restrict_classes(index: DatasetIndex, subset: str | None, base_classes: list[str] | None) -> DatasetIndex:
    """`index` with only the `subset` half of its classes; labels renumbered 0..C'-1 in class-index order."""
    if subset is None:
        return index
    if subset not in SUBSETS:
        raise UserError(f"dataset.class_subset={subset}: choose base, novel or null (every class)")
    base = set(base_class_names(index.class_names, base_classes))
    kept = [name for name in index.class_names if (name in base) == (subset == "base")]
    if not kept:
        raise UserError(f"dataset.class_subset={subset}: no class left (dataset.base_classes covers all or none of "
                        f"the {len(index.class_names)} classes)")
    new_label = {index.class_names.index(name): i for i, name in enumerate(kept)}

    def keep(records: Sequence[VideoRecord] | None) -> Sequence[VideoRecord] | None:
        if records is None:
            return None
        if isinstance(records, RecordRows):   # from the index cache: relabel the column, build no record
            kept_at = [i for i, label in enumerate(records.column("label")) if label in new_label]
            return records.select(kept_at, label=[new_label[records.column("label")[i]] for i in kept_at])
        return [VideoRecord(r.path, new_label[r.label], r.group) for r in records if r.label in new_label]

    log.info("class_subset=%s: %d of %d classes (%s …)", subset, len(kept), len(index.class_names),
             ", ".join(kept[:3]))
    return DatasetIndex(train=keep(index.train), test=keep(index.test), class_names=kept, val=keep(index.val))
