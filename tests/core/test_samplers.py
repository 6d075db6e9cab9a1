"""src/core/samplers.py: KeepAllSubsampleSampler (all of one class + k others per kept item, a new draw per epoch)."""
from collections import Counter

import numpy as np
import pytest
from torch.utils.data import DistributedSampler

from src.core.samplers import KeepAllSubsampleSampler

# 6 headers (label 1) scattered among 40 non-headers
LABELS = np.zeros(46, dtype=np.int64)
LABELS[[0, 7, 13, 21, 30, 45]] = 1
POSITIVES = set(np.flatnonzero(LABELS == 1).tolist())


def _sampler(ratio: float, *, seed: int = 0, epoch: int = 0, labels=LABELS, **kw) -> KeepAllSubsampleSampler:
    sampler = KeepAllSubsampleSampler(labels, keep_label=1, others_per_kept=ratio, seed=seed, **kw)
    sampler.set_epoch(epoch)
    return sampler


@pytest.mark.parametrize("ratio, negatives", [(3, 18), (1, 6), (1.5, 9), (0.5, 3)])
def test_each_epoch_holds_every_positive_and_k_negatives_per_positive_once(ratio, negatives):
    for epoch in range(4):
        indices = list(_sampler(ratio, epoch=epoch))
        assert len(indices) == len(_sampler(ratio)) == 6 + negatives
        assert len(set(indices)) == len(indices), "drawn with replacement"
        assert POSITIVES <= set(indices)
        assert sum(LABELS[i] == 0 for i in indices) == negatives
    assert list(_sampler(ratio, epoch=1)) != sorted(_sampler(ratio, epoch=1))  # positives and negatives shuffled


def test_the_draw_depends_only_on_seed_and_epoch():
    negatives = {(seed, epoch): frozenset(i for i in _sampler(3, seed=seed, epoch=epoch) if LABELS[i] == 0)
                 for seed in (0, 1) for epoch in range(3)}
    assert list(_sampler(3, seed=1, epoch=2)) == list(_sampler(3, seed=1, epoch=2))  # a fresh sampler, same order
    sampler = _sampler(3, seed=1, epoch=0)
    sampler.set_epoch(2)  # after other epochs: set_epoch alone decides
    assert list(sampler) == list(_sampler(3, seed=1, epoch=2))
    assert len(set(negatives.values())) == len(negatives), "two (seed, epoch) pairs drew the same negatives"


def test_two_ranks_cover_the_epoch_draw_exactly_once_plus_padding():
    whole = _sampler(2.5, epoch=3)  # 6 + 15 = 21 clips: odd, so one rank gets a padding repeat
    draw = list(whole)
    ranks = [list(_sampler(2.5, epoch=3, num_replicas=2, rank=r)) for r in (0, 1)]
    assert [len(r) for r in ranks] == [11, 11] and all(len(_sampler(2.5, num_replicas=2, rank=r)) == 11 for r in (0, 1))
    padded = draw + draw[:1]  # DistributedSampler's padding: the epoch's first items again
    assert ranks[0] == padded[0::2] and ranks[1] == padded[1::2]
    assert Counter(ranks[0] + ranks[1]) == Counter(padded)
    # Lightning leaves a DistributedSampler alone under DDP (no second sharding) and calls its set_epoch
    assert isinstance(whole, DistributedSampler)


def test_fewer_negatives_than_asked_gives_all_of_them():
    labels = np.array([1, 0, 1, 0, 0, 1, 0, 1])  # 4 headers, 4 non-headers; ratio 3 asks for 12
    for epoch in range(2):
        indices = list(_sampler(3, labels=labels, epoch=epoch))
        assert sorted(indices) == list(range(8))
