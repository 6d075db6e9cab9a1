"""VideoMix: λ is the kept-voxel fraction, the mask shapes per kind, prob, soft targets, soft cross-entropy."""
import pytest
import torch
import torch.nn.functional as F

from src.clip.videomix import soft_cross_entropy, videomix, videomix_mask
from src.core.errors import UserError

B, V, T, H, W, C = 6, 2, 4, 8, 10, 6


def _batch():
    """Video b is filled with the value b + 1, so every voxel tells whose pixels it holds."""
    video = (torch.arange(B, dtype=torch.float32) + 1).view(B, 1, 1, 1, 1, 1).expand(B, V, T, 3, H, W).clone()
    return video, torch.arange(B)                                   # label b for video b: all distinct


def _mix(kind, prob=1.0, seed=0):
    video, labels = _batch()
    mixed, targets = videomix(video, labels, C, kind, prob, torch.Generator().manual_seed(seed))
    return video, labels, mixed, targets


@pytest.mark.parametrize("kind", ["spatial", "temporal", "cube"])
def test_lambda_is_the_fraction_of_kept_voxels(kind):
    for seed in range(5):
        video, labels, mixed, targets = _mix(kind, seed=seed)
        torch.testing.assert_close(targets.sum(1), torch.ones(B))
        for b in range(B):
            own = (mixed[b] == b + 1).float().mean()
            foreign = mixed[b][mixed[b] != b + 1].unique()
            assert len(foreign) <= 1, "a video takes pixels from one partner only"
            if len(foreign) == 1:                                 # a real partner: its label gets 1 - λ
                partner = int(foreign.item()) - 1
                torch.testing.assert_close(targets[b, partner], 1 - own)
            torch.testing.assert_close(targets[b, b], own if len(foreign) else torch.tensor(1.0))


def test_temporal_replaces_whole_frames_only():
    changed_any = False
    for seed in range(5):
        video, _, mixed, _ = _mix("temporal", seed=seed)
        changed = (mixed != video)                                  # (B, V, T, 3, H, W)
        per_frame = changed.transpose(1, 2).flatten(2)              # (B, T, V·3·H·W)
        assert (per_frame.all(-1) | ~per_frame.any(-1)).all(), "a frame is replaced whole or untouched"
        changed_any |= bool(changed.any())
    assert changed_any


def test_spatial_box_is_the_same_in_every_frame_and_view():
    video, _, mixed, _ = _mix("spatial", seed=1)
    changed = (mixed != video)                                      # (B, V, T, 3, H, W)
    first = changed[:, :1, :1, :1]
    assert (changed == first).all(), "the pasted box spans all views, frames and channels"
    assert changed.any()
    for b in range(B):                                              # the region is a rectangle
        region = first[b, 0, 0, 0]
        rows, cols = region.any(1), region.any(0)
        assert (region == (rows[:, None] & cols[None, :])).all()


def test_cube_is_a_box_inside_a_frame_interval():
    # On the mask itself: a video's partner may be itself (a randperm fixed point), which hides the box in pixels.
    # A small λ may round to an empty box: those are filtered out, and most of the 30 masks must remain.
    masks = [videomix_mask((B, V, T, 3, H, W), "cube", 1.0, torch.Generator().manual_seed(seed))[:, 0, :, 0]
             for seed in range(5)]                                  # each (B, T, H, W)
    cubes = [m[b] for m in masks for b in range(B) if m[b].any()]   # each (T, H, W)
    assert len(cubes) >= len(masks) * B // 2, f"only {len(cubes)} of {len(masks) * B} masks are non-empty"
    for cube in cubes:
        frames = cube.flatten(1).any(1)                             # (T,)
        boxes = cube[frames]
        assert (boxes == boxes[:1]).all(), "the same box in every mixed frame"
        idx = frames.nonzero().flatten()
        assert (idx == torch.arange(idx[0], idx[-1] + 1)).all(), "mixed frames are contiguous"


def test_prob_zero_leaves_the_batch_untouched():
    video, labels, mixed, targets = _mix("cube", prob=0.0)
    assert torch.equal(mixed, video)
    assert torch.equal(targets, F.one_hot(labels, C).float())


def test_box_area_is_uniform_on_average_and_reproducible():
    video = torch.zeros(400, 1, 2, 3, 16, 16)
    labels = torch.zeros(400, dtype=torch.long)
    _, t1 = videomix(video, labels, 2, "spatial", 1.0, torch.Generator().manual_seed(3))
    m1, t2 = videomix(video, labels, 2, "spatial", 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(t1, t2)
    # all labels equal, so targets stay one-hot; check λ through the mask by mixing distinct videos instead
    video = torch.arange(400.0).view(400, 1, 1, 1, 1, 1).expand(400, 1, 2, 3, 16, 16)
    mixed, _ = videomix(video, labels, 2, "spatial", 1.0, torch.Generator().manual_seed(4))
    kept = (mixed == video).flatten(1).float().mean(1)
    assert 0.4 < kept.mean() < 0.6, "box area fraction ~ U(0, 1)"


def test_bad_kind_or_prob_is_a_user_error():
    video, labels = _batch()
    with pytest.raises(UserError, match="method.videomix"):
        videomix(video, labels, C, "diagonal", 1.0, torch.Generator())
    with pytest.raises(UserError, match="method.videomix_prob"):
        videomix(video, labels, C, "spatial", 1.5, torch.Generator())


def test_soft_cross_entropy_matches_hard_and_mixes_linearly():
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    a, b = torch.tensor([0, 1, 2, 3, 0]), torch.tensor([1, 1, 0, 2, 3])
    torch.testing.assert_close(soft_cross_entropy(logits, F.one_hot(a, 4).float()), F.cross_entropy(logits, a))
    lam = 0.3
    mixed = lam * F.one_hot(a, 4).float() + (1 - lam) * F.one_hot(b, 4).float()
    expected = lam * F.cross_entropy(logits, a) + (1 - lam) * F.cross_entropy(logits, b)
    torch.testing.assert_close(soft_cross_entropy(logits, mixed), expected)
