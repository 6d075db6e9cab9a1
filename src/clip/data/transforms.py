"""uint8 frames of one video -> normalised float views for the backbone, the same spatial transform on every frame.

Evaluation: resize the short side to `image_size`, then `num_spatial_views` square crops along the long side
(1 -> centre; 3 -> start, centre, end). Training: one view; with augmentation a random resized crop, horizontal
flip (with probability flip_prob: 0 for datasets whose classes name a direction) and colour jitter drawn ONCE per clip: torchvision.transforms.v2 applied to the whole (N, 3, H, W) video
tensor samples its parameters once per call, so every frame moves, flips and changes colour together.
"""
import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from src.core.errors import UserError


class VideoTransform:
    def __init__(self, train: bool, augment: bool, image_size: int, mean: list[float], std: list[float],
                 num_spatial_views: int, crop_scale: list[float], color_jitter: dict, flip_prob: float):
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise UserError(f"backbone.mean / backbone.std: need three values each (std > 0), got {mean} / {std}")
        if not isinstance(num_spatial_views, int) or num_spatial_views < 1:
            raise UserError(f"dataset.num_spatial_views: {num_spatial_views!r} must be a positive integer")
        if len(crop_scale) != 2 or not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise UserError(f"dataset.crop_scale: {list(crop_scale)} must be [low, high] with 0 < low <= high <= 1")
        if isinstance(flip_prob, bool) or not isinstance(flip_prob, (int, float)) or not 0 <= flip_prob <= 1:
            raise UserError(f"dataset.flip_prob: {flip_prob!r} must be a probability in [0, 1]")
        self.image_size = image_size
        self.mean, self.std = list(mean), list(std)
        self.num_views = 1 if train else num_spatial_views          # training always sees one crop
        self.augmentation = None
        if train and augment:
            self.augmentation = v2.Compose([
                v2.RandomResizedCrop(image_size, scale=tuple(crop_scale), antialias=True),
                v2.RandomHorizontalFlip(p=flip_prob),
                v2.ColorJitter(**color_jitter),
            ])

    @property
    def resize_short_side(self) -> int | None:
        """The short side the first step resizes every frame to, or None when the first step is augmentation's
        random resized crop (which needs the full frame): what a reader may resize to while decoding."""
        return self.image_size if self.augmentation is None else None

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) uint8 -> (S, N, 3, image_size, image_size) float32, normalised."""
        assert frames.dtype == torch.uint8 and frames.ndim == 4 and frames.shape[1] == 3, (
            f"VideoTransform expects uint8 frames (N, 3, H, W), got {frames.dtype} {tuple(frames.shape)}")
        video = tv_tensors.Video(frames)                             # one clip: parameters drawn once
        if self.augmentation is not None:
            views = self.augmentation(video).as_subclass(torch.Tensor)[None]         # (1, N, 3, s, s)
        else:
            views = self._long_side_crops(F.resize(video, [self.image_size], antialias=True))   # (S, N, 3, s, s)
        views = F.to_dtype(views, torch.float32, scale=True)                                    # [0, 1]
        return F.normalize(views, self.mean, self.std)

    def _long_side_crops(self, video: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) with min(H, W) == image_size -> (S, N, 3, size, size), crops spread along the long side."""
        size = self.image_size
        height, width = video.shape[-2:]
        long_extra = max(height, width) - size
        if self.num_views == 1:
            starts = [long_extra // 2]
        else:
            starts = np.round(np.linspace(0, long_extra, self.num_views)).astype(int).tolist()
        assert min(height, width) == size, f"short side {min(height, width)} != image_size {size}"
        if width >= height:                                          # landscape: crops slide left to right
            crops = [video[..., :, s:s + size] for s in starts]
        else:                                                        # portrait: top to bottom
            crops = [video[..., s:s + size, :] for s in starts]
        return torch.stack([c.as_subclass(torch.Tensor) for c in crops])
