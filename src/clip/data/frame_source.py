"""Where task=clip's datasets get a video's frames: the video itself, or the decoded-frame store.

- `dataset.frame_store` off: the video reader (src/clip/data/reader.py). With `dataset.decode_resize` and a
  transform whose first step resizes to a known short side (evaluation, training without augmentation), frames are
  converted straight to that size at decode, so that resize is a no-op (augmented training keeps full frames: its
  random resized crop needs them).
- auto | write | read: the store (src/clip/data/frame_store/): every frame of each video as JPEG with the short side
  `dataset.frame_store_short_side`, built once; a sample decodes only its frames' JPEGs. The sampler is unchanged
  and the entries keep the reader's frame count, so the same (seed, epoch, item) gives the same frame indices.
  auto reads what is stored and builds what is missing as it goes (in the loader workers); write rebuilds every
  entry of the run's videos up front (each DDP rank its share, then a barrier); read builds nothing and refuses a
  run whose videos lack entries, before anything is written.
"""
from functools import partial
from pathlib import Path

from src.clip.data.frame_store.fill import check_stored, fill_store
from src.clip.data.frame_store.store import FRAME_STORE_FORMAT, FrameStore
from src.clip.data.reader import VideoReader
from src.clip.data.transforms import VideoTransform
from src.core.errors import UserError

MODES = ("off", "auto", "write", "read")
# How frames are read, not what is evaluated: src.evaluate takes them from its command line, never from the run.
LOADING_KEYS = ("frame_store", "frame_store_dir", "frame_store_short_side", "frame_store_quality", "decode_resize")


def frame_store_mode(dataset: dict) -> str:
    mode = "off" if dataset["frame_store"] is False else dataset["frame_store"]  # YAML 1.1 reads a bare off as false
    if mode not in MODES:
        raise UserError(f"dataset.frame_store={mode}: choose one of {', '.join(MODES)}")
    return mode


def pixel_source_key(dataset: dict) -> dict:
    """What the frame-feature cache's namespace adds about where the pixels come from: nothing for full frames
    from the video (so caches built before these options keep their key), else the source and its settings."""
    mode = frame_store_mode(dataset)
    if mode != "off":
        return {"pixels": {"frame_store": FRAME_STORE_FORMAT, "short_side": dataset["frame_store_short_side"],
                           "jpeg_quality": dataset["frame_store_quality"]}}
    return {"pixels": "video, resized at decode"} if dataset["decode_resize"] else {}


class FrameSource:
    def __init__(self, dataset: dict, image_size: int):
        self.mode = frame_store_mode(dataset)
        self.decode_resize = dataset["decode_resize"]
        self.store = None
        self._prepared = False
        if self.mode != "off":
            short_side = dataset["frame_store_short_side"]
            if short_side < image_size:
                raise UserError(f"dataset.frame_store_short_side={short_side}: below backbone.image_size="
                                f"{image_size}, every stored frame would be upscaled; use at least {image_size} "
                                "(256 for 224 px models)")
            self.store = FrameStore(Path(dataset["frame_store_dir"]), short_side, dataset["frame_store_quality"],
                                    read_only=self.mode == "read")

    def opener(self, transform: VideoTransform):
        """`opener(path)` -> a context manager with `num_frames` and `read(indices)` (picklable for the workers)."""
        if self.store is not None:
            return self.store.open
        if self.decode_resize and transform.resize_short_side is not None:
            return partial(VideoReader, short_side=transform.resize_short_side)
        return VideoReader

    def describe(self) -> str:
        """Where the pixels come from, in words (the run's results files record it: `data.frames_from`)."""
        if self.store is not None:
            return f"frame store, short side {self.store.short_side}, JPEG quality {self.store.quality}"
        return "video, resized at decode where the transform starts with a resize" if self.decode_resize else "video"

    def check(self, splits: dict[str, list[Path]]) -> None:
        """read: every video of `splits` is stored (else one UserError); nothing to check in the other modes."""
        if self.mode == "read" and not self._prepared:
            check_stored(self.store, splits)
            self._prepared = True

    def prepare(self, splits: dict[str, list[Path]], trainer, num_workers: int) -> None:
        """Once per run, before the loaders: read checks (see `check`), write rebuilds this rank's share of the
        entries and waits at a barrier until every rank's are on disk."""
        if self.mode == "write" and not self._prepared:
            rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
            fill_store(self.store, [v for videos in splits.values() for v in videos], num_workers=num_workers,
                       rank=rank, world_size=world, overwrite=True)
            if trainer is not None:
                trainer.strategy.barrier("frame-store")
            self._prepared = True
        self.check(splits)
