"""VideoMix: CutMix for clips (spatial box, temporal interval, or both) with soft labels.

Applied by the training step to a whole batch (B, V, T, 3, H, W) after normalisation — the same way for every
method — and never in validation. Each video gets a partner from a permutation of the batch; the region taken
from the partner is one mask per video (shared by its views and channels), and the label weight λ is the actual
fraction of kept voxels of that mask, so rounding of box edges never skews the targets.

The random numbers come from a CPU generator whatever the device: only a few numbers per video are drawn (a
permutation and up to five uniforms), then moved to the batch's device where the masks are built. So a seed gives
the same mixes on a CPU and on a GPU, and the generator's state in a checkpoint (a CPU ByteTensor) resumes the
exact stream on any device. (A generator on the accelerator could not: a CUDA generator's state is a Philox
seed/offset pair, a CPU one a Mersenne Twister, and neither can continue the other's stream.)
"""
import logging

import torch
import torch.nn.functional as F
from torch import Tensor

from src.core.errors import UserError

log = logging.getLogger(__name__)

KINDS = ("spatial", "temporal", "cube")


def mix_generator(seed: int, saved: Tensor | None = None) -> torch.Generator:
    """VideoMix's CPU generator: seeded, or continuing `saved` (a checkpoint's `get_state()`, on any device)."""
    generator = torch.Generator().manual_seed(seed)
    if saved is None:
        return generator
    saved = saved.to("cpu", torch.uint8)
    if saved.numel() != generator.get_state().numel():  # an older checkpoint's CUDA (Philox) generator state
        log.warning("the checkpoint's VideoMix generator state (%d bytes) is not a CPU generator's (an older version "
                    "drew on the GPU): VideoMix restarts its stream from the seed, so this resume is not exact",
                    saved.numel())
        return generator
    return generator.set_state(saved)


def _uniform(n: int, generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(n, generator=generator).to(device)                        # (n,) drawn on the CPU


def _interval_mask(length: int, fraction: Tensor, generator: torch.Generator) -> Tensor:
    """One interval per video of about `fraction`·length cells at a uniform start -> bool (B, length)."""
    size = torch.round(fraction * length).long()                                # (B,)
    start = torch.floor(_uniform(len(size), generator, fraction.device) * (length - size + 1)).long()   # (B,)
    pos = torch.arange(length, device=fraction.device)                          # (length,)
    return (pos >= start[:, None]) & (pos < (start + size)[:, None])            # (B, length)


def _box_mask(height: int, width: int, area: Tensor, generator: torch.Generator) -> Tensor:
    """A box of side fractions sqrt(area) placed wholly inside the frame -> bool (B, H, W).

    Unlike CutMix's uniform centre (whose box is clipped at the borders, shrinking the mean area), the box never
    leaves the frame, so its area fraction really is ~ `area` (up to pixel rounding).
    """
    side = area.sqrt()                                                          # (B,)
    rows = _interval_mask(height, side, generator)                              # (B, H)
    cols = _interval_mask(width, side, generator)                               # (B, W)
    return rows[:, :, None] & cols[:, None, :]                                  # (B, H, W)


def videomix_mask(shape: torch.Size, kind: str, prob: float, generator: torch.Generator,
                  device: torch.device | str = "cpu") -> Tensor:
    """Bool (B, 1, T, 1, H, W) on `device`: True where a video takes its partner's pixels (all False when not
    mixed). `generator` is a CPU generator (see the module docstring)."""
    assert generator.device.type == "cpu", f"VideoMix draws from a CPU generator, got one on {generator.device}"
    if kind not in KINDS:
        raise UserError(f"method.videomix: unknown kind {kind!r}; use null or one of {', '.join(KINDS)}")
    if not 0.0 <= prob <= 1.0:
        raise UserError(f"method.videomix_prob: {prob} is not a probability; use a value in [0, 1]")
    b, _, t, _, h, w = shape
    in_time = torch.ones(b, t, dtype=torch.bool, device=device)                 # (B, T)
    in_space = torch.ones(b, h, w, dtype=torch.bool, device=device)             # (B, H, W)
    if kind in ("temporal", "cube"):
        in_time = _interval_mask(t, _uniform(b, generator, device), generator)
    if kind in ("spatial", "cube"):
        in_space = _box_mask(h, w, _uniform(b, generator, device), generator)
    mixed = _uniform(b, generator, device) < prob                                       # (B,) which videos get mixed
    mask = in_time[:, :, None, None] & in_space[:, None] & mixed[:, None, None, None]   # (B, T, H, W)
    return mask[:, None, :, None]                                               # (B, 1, T, 1, H, W)


def videomix(video: Tensor, labels: Tensor, num_classes: int, kind: str, prob: float,
             generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Mix a batch: video (B, V, T, 3, H, W), labels (B,) long -> (mixed video, soft targets (B, C)).

    Random numbers come from `generator`, a CPU generator (see the module docstring): reproducible for a seed on
    any device.
    """
    assert video.dim() == 6, f"videomix: video must be (B, V, T, 3, H, W), got shape {tuple(video.shape)}"
    assert labels.shape == video.shape[:1], (
        f"videomix: labels {tuple(labels.shape)} do not match the batch of {video.shape[0]} videos")
    partner = torch.randperm(video.shape[0], generator=generator).to(video.device)   # (B,)
    mask = videomix_mask(video.shape, kind, prob, generator, video.device)      # (B, 1, T, 1, H, W)
    mixed = torch.where(mask, video[partner], video)                            # (B, V, T, 3, H, W)
    kept = 1.0 - mask.flatten(1).float().mean(1)                                # (B,) λ: own voxel fraction
    own = F.one_hot(labels, num_classes).float()                                # (B, C)
    targets = kept[:, None] * own + (1.0 - kept[:, None]) * own[partner.to(labels.device)]
    return mixed, targets


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy against soft targets: logits (B, C), targets (B, C) rows summing to 1 -> scalar mean.
    (torch's cross_entropy with class-probability targets; the shape check keeps index labels out.)"""
    assert logits.shape == targets.shape, f"soft_cross_entropy: {tuple(logits.shape)} vs {tuple(targets.shape)}"
    return F.cross_entropy(logits, targets)
