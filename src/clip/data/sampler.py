"""Which frames of a video to decode: V temporal views of T frames each, as an index array (V, T)."""
import numpy as np

from src.core.errors import UserError


class FrameSampler:
    """TSN-style segments over the whole video (frame_interval None) or dense clips with a fixed stride.

    Segments: the video is cut into V*T equal segments; a frame is taken from each (a random offset inside the
    segment in training, the segment centre in evaluation) and the V*T frames are split into V contiguous views
    of T. Dense clips: V clips of T frames `frame_interval` apart (random starts in training, evenly placed in
    evaluation). Videos shorter than what is asked repeat frames (indices are clamped); sampling never fails.
    """

    def __init__(self, num_frames: int, num_temporal_views: int, frame_interval: int | None):
        for key, value in (("num_frames", num_frames), ("num_temporal_views", num_temporal_views)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"dataset.{key}: {value!r} must be a positive integer")
        if frame_interval is not None and (isinstance(frame_interval, bool) or not isinstance(frame_interval, int)
                                           or frame_interval < 1):
            raise UserError(f"dataset.frame_interval: {frame_interval!r} must be null (segments over the whole "
                            "video) or a positive integer stride")
        self.num_frames = num_frames
        self.num_temporal_views = num_temporal_views
        self.frame_interval = frame_interval

    def indices(self, total_frames: int, train: bool, rng: np.random.Generator) -> np.ndarray:
        """Frame indices (V, T), int64, each in [0, total_frames); sorted within and across views."""
        assert total_frames >= 1, f"a video needs at least one frame to sample from, got {total_frames}"
        if self.frame_interval is None:
            flat = self._segments(total_frames, train, rng)                    # (V*T,)
        else:
            flat = self._dense_clips(total_frames, train, rng)                 # (V*T,)
        return np.clip(flat, 0, total_frames - 1).reshape(self.num_temporal_views, self.num_frames)

    def _segments(self, total: int, train: bool, rng: np.random.Generator) -> np.ndarray:
        count = self.num_temporal_views * self.num_frames
        length = total / count                                                 # segment length, may be < 1
        starts = np.arange(count) * length
        offsets = rng.uniform(0.0, length, size=count) if train else np.full(count, length / 2)
        return np.floor(starts + offsets).astype(np.int64)

    def _dense_clips(self, total: int, train: bool, rng: np.random.Generator) -> np.ndarray:
        span = (self.num_frames - 1) * self.frame_interval + 1                 # frames one clip covers
        latest_start = max(total - span, 0)
        if train:
            starts = np.sort(rng.integers(0, latest_start + 1, size=self.num_temporal_views))
        elif self.num_temporal_views == 1:
            starts = np.array([latest_start // 2])                             # the centre clip
        else:
            starts = np.round(np.linspace(0, latest_start, self.num_temporal_views)).astype(np.int64)
        steps = np.arange(self.num_frames) * self.frame_interval               # (T,)
        return (starts[:, None] + steps[None, :]).reshape(-1).astype(np.int64)
