"""task=header clip transforms: a (T, 3, H, W) uint8 video -> a (T, 3, S, S) model input, draws once per clip.

    uint8 video -> resize -> [flip + one fused colour map (src/header/data/augment.py)] + normalise -> float

`dataset.augment_on` says where the random part runs:
- loader: in the DataLoader workers, as above.
- device: the loader only reads, samples, resizes and hands over uint8 frames (4x fewer bytes to move); the
  datamodule's `on_after_batch_transfer` flips, colour-maps and normalises the whole batch on the accelerator
  (`BatchAugment`), with the same per-clip draws as the loader would make.
Evaluation is normalisation only, in the loader, either way (so the frozen-feature cache and evaluation read the
same float frames).
"""
import torch
from torchvision.transforms import v2

from src.core.errors import UserError
from src.header.data.augment import augment_and_normalise, check_jitter, draw_clip_params, identity_params

AUGMENT_PLACES = ("loader", "device")


def check_augment_on(place: str) -> str:
    if place not in AUGMENT_PLACES:
        raise UserError(f"dataset.augment_on={place}: choose loader (DataLoader workers) or device (the batch, after "
                        f"it reached the accelerator)")
    return place


class ClipTransform:
    """uint8 video (T, 3, H, W) -> (T, 3, S, S): float and normalised, or (`normalise=False`) uint8 resized only."""

    def __init__(self, *, input_size: int, augment: bool, flip_prob: float, color_jitter: dict, mean, std,
                 normalise: bool):
        self.resize = v2.Resize((input_size, input_size), antialias=True)
        self.augment, self.flip_prob, self.jitter = augment, flip_prob, check_jitter(color_jitter or {})
        self.mean, self.std, self.normalise = list(mean), list(std), normalise

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        frames = self.resize(video).as_subclass(torch.Tensor)                    # (T, 3, S, S) uint8
        if not self.normalise:
            return frames
        params = (draw_clip_params(1, flip_prob=self.flip_prob, jitter=self.jitter) if self.augment
                  else identity_params(1))
        clip = frames.transpose(0, 1).contiguous()[None]                           # (1, 3, T, S, S)
        return augment_and_normalise(clip, params, mean=self.mean, std=self.std)[0].transpose(0, 1)


def build_clip_transform(*, input_size: int, augment: bool, flip_prob: float, color_jitter: dict,
                         mean: list[float], std: list[float], normalise: bool) -> ClipTransform:
    """The per-clip transform of a split (every frame gets the same random draws)."""
    return ClipTransform(input_size=input_size, augment=augment, flip_prob=flip_prob, color_jitter=color_jitter,
                         mean=mean, std=std, normalise=normalise)


class BatchAugment:
    """augment_on=device: uint8 batches (B, 3, T, S, S) -> flipped, colour-mapped, normalised float, on the
    batch's device. Each clip gets its own draws (the loader-side distribution), the same for all its frames."""

    def __init__(self, *, augment: bool, flip_prob: float, color_jitter: dict, mean, std):
        self.augment, self.flip_prob, self.jitter = augment, flip_prob, check_jitter(color_jitter or {})
        self.mean, self.std = list(mean), list(std)

    def __call__(self, video: torch.Tensor, *, training: bool) -> torch.Tensor:
        n = video.shape[0]
        params = (draw_clip_params(n, flip_prob=self.flip_prob, jitter=self.jitter) if training and self.augment
                  else identity_params(n))
        return augment_and_normalise(video, params, mean=self.mean, std=self.std)
