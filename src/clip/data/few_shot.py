"""Subsets of an index: k videos per class (few-shot) and a validation hold-out by whole groups."""
import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from src.clip.data.record_rows import RecordRows, column, pick
from src.clip.data.records import VideoRecord
from src.core.errors import UserError

log = logging.getLogger(__name__)


def k_per_class(records: Sequence[VideoRecord], k: int | None, seed: int) -> Sequence[VideoRecord]:
    """Exactly `k` videos of every class, drawn with `seed` (all of a class that has fewer); k=None -> all.

    The same seed gives the same subset; the result keeps the input order.
    """
    if k is None:
        return records if isinstance(records, RecordRows) else list(records)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"dataset.k_train / dataset.k_val: {k!r} is not a number of videos per class; "
                        "use a positive integer or null (all)")
    rng = np.random.default_rng(seed)
    positions = _positions_by_key(column(records, "label"))
    chosen, short = [], {}
    for label in sorted(positions):            # a fixed class order keeps the draw reproducible
        pos = positions[label]
        if len(pos) < k:
            short[label] = len(pos)
            chosen.extend(pos)
        else:
            chosen.extend(rng.choice(pos, size=k, replace=False).tolist())
    if short:
        log.warning("k=%d: %d class(es) have fewer videos and keep all of them (label: count) %s",
                    k, len(short), short)
    return pick(records, sorted(chosen))    # builds the chosen records only (an index from the index cache)


def group_holdout(records: Sequence[VideoRecord], fraction: float, seed: int
                  ) -> tuple[Sequence[VideoRecord], Sequence[VideoRecord]]:
    """(train, val): about `fraction` of every class's groups go to val, whole, so no group is in both.

    A group is (class, record.group): UCF-101's gXX numbering restarts in every class. Videos without a group
    are groups of one. Every class with at least two groups keeps at least one group on each side; a class
    with a single group cannot be split by group, so its videos are split one by one (logged).
    """
    if not 0.0 < fraction < 1.0:
        raise UserError(f"dataset.val_fraction: {fraction!r} must be between 0 and 1 (exclusive) when the "
                        "dataset has no validation list")
    rng = np.random.default_rng(seed)
    labels, groups_of = column(records, "label"), column(records, "group")
    by_class = _positions_by_key(labels)
    val_positions, single_group = set(), []
    for label in sorted(by_class):
        groups = _positions_by_key([groups_of[i] if groups_of[i] is not None else str(records[i].path)
                                    for i in by_class[label]])
        members = [[by_class[label][j] for j in groups[g]] for g in sorted(groups)]
        if len(members) == 1:
            single_group.append(label)
            members = [[i] for i in members[0]]        # split the videos themselves
        if len(members) == 1:
            continue                                    # one video: it trains
        n_val = min(len(members) - 1, max(1, round(fraction * len(members))))
        for g in rng.choice(len(members), size=n_val, replace=False):
            val_positions.update(members[g])
    if single_group:
        log.warning("validation hold-out: class(es) %s have a single group; their videos are split one by one",
                    single_group)
    train = pick(records, [i for i in range(len(records)) if i not in val_positions])
    val = pick(records, sorted(val_positions))
    return train, val


def _positions_by_key(keys: Sequence) -> dict:
    """key -> the positions that have it, in order."""
    out = defaultdict(list)
    for i, key in enumerate(keys):
        out[key].append(i)
    return out
