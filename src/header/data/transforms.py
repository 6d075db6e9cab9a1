"""task=header clip transforms: torchvision.transforms.v2 on a (T, C, H, W) video, random draws once per clip.

    uint8 video -> resize -> [flip -> float -> brightness/contrast/saturation -> hue] -> normalise

Colour jitter runs on float frames (torchvision's uint8 path converts per op) and after the resize (fewer pixels
when frames shrink). Hue is a rotation of the chroma plane in YIQ space, one 3x3 matrix per clip: torchvision's
`adjust_hue` goes through HSV and costs ~45 ms per 16 x 224 x 224 clip on one core, 4x the rest of the pipeline
together (measured with benchmarks/header_loader.py). The two hue models differ: a request of 0.05 of a turn moves
the HSV hue of saturated colours by 0.02-0.07 in the same direction and keeps luma exactly — an augmentation of
the same kind and size, not a bit-exact ColorJitter.
"""
import math

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

# NTSC RGB -> YIQ: Y is luma, (I, Q) the chroma plane a hue shift rotates.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


class RandomHueRotation(v2.Transform):
    """Shift the hue of every frame by the same angle, drawn from [-hue, hue] of a full turn (as ColorJitter's
    `hue`). Expects float frames in [0, 1] with channels at dim -3; keeps luma, clamps to [0, 1]."""

    _transformed_types = (tv_tensors.Video, tv_tensors.Image)

    def __init__(self, hue: float):
        super().__init__()
        assert 0.0 <= hue <= 0.5, f"hue jitter must be in [0, 0.5], got {hue}"
        self.hue = hue

    def make_params(self, flat_inputs: list) -> dict:
        angle = float(torch.empty(()).uniform_(-self.hue, self.hue)) * 2.0 * math.pi
        return {"matrix": rgb_hue_rotation(angle)}

    def transform(self, inpt: torch.Tensor, params: dict) -> torch.Tensor:
        assert inpt.is_floating_point(), "RandomHueRotation needs float frames (put it after ToDtype)"
        matrix = params["matrix"].to(inpt.device, inpt.dtype)
        out = torch.einsum("ij,...jhw->...ihw", matrix, inpt.as_subclass(torch.Tensor)).clamp_(0.0, 1.0)
        return tv_tensors.wrap(out, like=inpt)


def rgb_hue_rotation(angle: float) -> torch.Tensor:
    """The 3x3 RGB matrix that rotates hue by `angle` radians (YIQ -> rotate (I, Q) -> RGB)."""
    c, s = math.cos(angle), math.sin(angle)
    rotate = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])  # this sign turns hue like adjust_hue
    return torch.linalg.inv(_RGB_TO_YIQ) @ rotate @ _RGB_TO_YIQ


def build_clip_transform(*, input_size: int, augment: bool, flip_prob: float, color_jitter: dict,
                         mean: list[float], std: list[float]) -> v2.Compose:
    """uint8 video (T, 3, H, W) -> normalised float (T, 3, S, S); every frame gets the same random draws
    (torchvision treats a Video as one sample)."""
    steps: list = [v2.Resize((input_size, input_size), antialias=True)]
    if augment:
        steps.append(v2.RandomHorizontalFlip(flip_prob))
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if augment and color_jitter:
        jitter = {k: v for k, v in color_jitter.items() if k != "hue"}
        steps.append(v2.ColorJitter(**jitter))
        if color_jitter.get("hue"):
            steps.append(RandomHueRotation(color_jitter["hue"]))
    steps.append(v2.Normalize(mean=list(mean), std=list(std)))
    return v2.Compose(steps)
