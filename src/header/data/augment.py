"""task=header clip augmentation as one fused colour map, the same for every frame of a clip.

    uint8 clip (T, 3, H, W) -> [flip] -> one affine colour map per clip (+ normalisation) -> float (T, 3, H, W)

Brightness, contrast, saturation and hue are each affine in RGB, so in any order they compose into one map
x -> A x + d_t: A is a 3x3 matrix per clip, d_t a per-frame offset (contrast blends with the frame's mean grey,
which is itself affine in the frame's mean colour). Normalisation is affine too, so uint8 -> normalised float is
one 3x3 matrix product, an add and a clamp per pixel — instead of four full passes with clamps in between.

What it is, precisely (the draws follow torchvision's ColorJitter: factors uniform in [max(0, 1 - v), 1 + v],
hue uniform in [-h, h] of a turn, the four operations in a random order):
- brightness b: x -> b x;  contrast c: x -> c x + (1 - c) mean_grey(frame);  saturation s: x -> s x + (1 - s) grey(x)
  (grey = ITU-R 601 luma, as torchvision);  hue: a rotation of the YIQ chroma plane by the angle (luma kept).
- One clamp to [0, 1] at the end; torchvision clamps after every operation, so the two differ only where an
  intermediate value leaves [0, 1] (bright pixels under brightness/contrast > 1).
- Hue is a YIQ rotation, not torchvision's HSV shift (45 ms per clip and not affine). A YIQ turn of 0.1 moves the
  HSV hue of random colours (HSV saturation > 0.3) the same way by a median 0.097 of a turn (10-90 %: 0.07-0.14).
- Every draw is per clip (every frame of a clip the same). The original Header Net transformed each frame as
  its own PIL image, so its flip and jitter changed from frame to frame within a clip.
"""
import math

import torch

from src.core.errors import UserError

JITTER_KEYS = ("brightness", "contrast", "saturation", "hue")
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)
GREY = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 luma weights (torchvision's rgb_to_grayscale)
# NTSC RGB -> YIQ: Y is luma, (I, Q) the chroma plane a hue shift rotates.
RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def check_jitter(color_jitter: dict) -> dict[str, float]:
    """`dataset.color_jitter` with every key present (missing = 0), or a UserError naming the bad entry."""
    unknown = sorted(set(color_jitter) - set(JITTER_KEYS))
    if unknown:
        raise UserError(f"dataset.color_jitter has unknown key(s) {', '.join(unknown)}; use {', '.join(JITTER_KEYS)}")
    jitter = {k: float(color_jitter.get(k) or 0.0) for k in JITTER_KEYS}
    for key, value in jitter.items():
        top = 0.5 if key == "hue" else math.inf
        if not 0.0 <= value <= top:
            bound = " and <= 0.5 (half a turn)" if key == "hue" else ""
            raise UserError(f"dataset.color_jitter.{key}={value}: must be >= 0{bound}")
    return jitter


def draw_clip_params(n: int, *, flip_prob: float, jitter: dict[str, float]) -> dict[str, torch.Tensor]:
    """Random draws for `n` clips (torch's global RNG): flip (n,) bool, the four factors (n,) and order (n, 4)."""
    def factor(v: float) -> torch.Tensor:
        return torch.empty(n).uniform_(max(0.0, 1.0 - v), 1.0 + v)

    return {
        "flip": torch.rand(n) < flip_prob,
        "brightness": factor(jitter["brightness"]),
        "contrast": factor(jitter["contrast"]),
        "saturation": factor(jitter["saturation"]),
        "hue": torch.empty(n).uniform_(-jitter["hue"], jitter["hue"]),   # fraction of a turn
        "order": torch.argsort(torch.rand(n, 4), dim=1),                  # a random permutation per clip
    }


def identity_params(n: int) -> dict[str, torch.Tensor]:
    """Draws that change nothing (evaluation: normalisation only)."""
    ones = torch.ones(n)
    return {"flip": torch.zeros(n, dtype=torch.bool), "brightness": ones, "contrast": ones, "saturation": ones,
            "hue": torch.zeros(n), "order": torch.arange(4).expand(n, 4)}


def hue_matrices(turns: torch.Tensor) -> torch.Tensor:
    """(n,) fractions of a turn -> (n, 3, 3) RGB matrices rotating the YIQ chroma plane by that angle."""
    angle = turns.double() * 2.0 * math.pi
    c, s = torch.cos(angle), torch.sin(angle)
    rotate = torch.zeros(len(turns), 3, 3, dtype=torch.float64)
    rotate[:, 0, 0] = 1.0
    rotate[:, 1, 1], rotate[:, 1, 2], rotate[:, 2, 1], rotate[:, 2, 2] = c, s, -s, c  # this sign turns like adjust_hue
    yiq = RGB_TO_YIQ.double()
    return torch.linalg.inv(yiq) @ rotate @ yiq


def colour_affine(params: dict[str, torch.Tensor], frame_means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The composed map x -> A x + d of each clip, on [0, 1] RGB. `frame_means`: (n, T, 3) mean colour of every
    input frame. Returns A (n, 3, 3) and d (n, T, 3), in float64 (tiny; exact composition)."""
    n = frame_means.shape[0]
    eye = torch.eye(3, dtype=torch.float64)
    grey = GREY.double()
    means = frame_means.double()
    matrix = eye.expand(n, 3, 3).clone()
    offset = torch.zeros_like(means)                                            # (n, T, 3)
    b, c, s = (params[k].double()[:, None, None] for k in ("brightness", "contrast", "saturation"))
    saturate = s * eye + (1.0 - s) * grey.expand(3, 3)                          # (n, 3, 3): rows blend towards grey
    hue = hue_matrices(params["hue"])
    for step in range(4):
        op = params["order"][:, step][:, None, None]                            # (n, 1, 1)
        # mean grey of each frame *now*: the map so far applied to the frame's mean colour
        mean_grey = ((means @ matrix.transpose(1, 2) + offset) @ grey)[..., None]   # (n, T, 1)
        candidates = {
            BRIGHTNESS: (b * matrix, b * offset),
            CONTRAST: (c * matrix, c * offset + (1.0 - c) * mean_grey),
            SATURATION: (saturate @ matrix, offset @ saturate.transpose(1, 2)),
            HUE: (hue @ matrix, offset @ hue.transpose(1, 2)),
        }
        for code, (new_matrix, new_offset) in candidates.items():
            matrix = torch.where(op == code, new_matrix, matrix)
            offset = torch.where(op == code, new_offset, offset)
    return matrix, offset


def augment_and_normalise(video: torch.Tensor, params: dict[str, torch.Tensor], *, mean, std) -> torch.Tensor:
    """uint8 clips (n, 3, T, H, W) -> flipped, colour-mapped, clamped, normalised float32 (n, 3, T, H, W)."""
    assert video.dtype == torch.uint8 and video.ndim == 5 and video.shape[1] == 3, \
        f"expected uint8 clips (n, 3, T, H, W), got {video.dtype} {tuple(video.shape)}"
    n, _, t, h, w = video.shape
    # Mean colour of every frame, summed straight from uint8 (a flip does not change it).
    sums = video.reshape(n, 3, t, h * w).sum(dim=-1, dtype=torch.float32)      # (n, 3, T); float64 would copy
    frame_means = sums.double().transpose(1, 2) / (h * w * 255.0)
    matrix, offset = colour_affine({k: v.cpu() for k, v in params.items()}, frame_means.cpu())   # (n, 3, 3), (n, T, 3)
    mean_t, std_t = torch.tensor(list(mean), dtype=torch.float64), torch.tensor(list(std), dtype=torch.float64)
    # Fold the 1/255 scale and the normalisation into the map: y = (A x / 255 + d - mean) / std.
    fused = (matrix / (255.0 * std_t[:, None])).float().to(video.device)       # (n, 3, 3)
    bias = ((offset - mean_t) / std_t).float().transpose(1, 2).to(video.device)[..., None]   # (n, 3, T, 1)
    low = (-mean_t / std_t).float().to(video.device)[:, None, None]            # [0, 1] before normalising
    high = ((1.0 - mean_t) / std_t).float().to(video.device)[:, None, None]
    out = torch.empty((n, 3, t, h, w), dtype=torch.float32, device=video.device)
    # Clip by clip: one clip's temporaries are reused by the CPU allocator; a whole batch's are fresh pages each time.
    for i in range(n):
        clip = video[i].flip(-1) if bool(params["flip"][i]) else video[i]       # (3, T, H, W) uint8
        target = out[i].view(3, t, h * w)
        torch.mm(fused[i], clip.reshape(3, t * h * w).float(), out=target.view(3, t * h * w))
        target.add_(bias[i])
        torch.maximum(torch.minimum(target, high, out=target), low, out=target)
    return out
