"""Sliding windows over a stream of frames, holding only a ring buffer of the frames windows still need.

Window k covers frames s_k, s_k + step, …, s_k + (T - 1)·step with s_k = first_start + k·stride (T =
num_frames, step = frame_step): its span is (T - 1)·step + 1 frames. Frames arrive in increasing index order;
each one a pending window needs is preprocessed once (so overlapping windows share the work) and stored in a
preallocated ring of `span` slots at slot index % span. Every frame a window needs lies in
[s_k, s_k + span), so live frames never collide and memory is `span` preprocessed frames whatever the video's
length. A window whose frames are not all there (a corrupt stretch, a cut-off end) is skipped and reported as a
gap instead. A frame `preprocess` returns None for (no ball box to crop around) makes every window holding it a
`no_ball` window: emitted, in order, without pixels.
"""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class WindowSpec:
    num_frames: int    # T: frames per window (the run's dataset.num_frames)
    frame_step: int    # spacing of those frames in the video (1 = consecutive)
    stride: int        # frames between the starts of consecutive windows

    def __post_init__(self):
        assert self.num_frames >= 1 and self.frame_step >= 1 and self.stride >= 1, f"bad window spec {self}"

    @property
    def span(self) -> int:
        return (self.num_frames - 1) * self.frame_step + 1


@dataclass
class Window:
    start_frame: int
    end_frame: int                # inclusive: the last frame the window uses
    frames: torch.Tensor | None   # (T, C, H, W) preprocessed; None: a frame had no ball (not scored)


class SlidingWindows:
    """Feed `(index, frame)` in increasing index order to `push`; it returns the windows that became complete.
    `preprocess(index, frame) -> (C, H, W) tensor | None` runs only for frames a window needs. Skipped windows
    collect in `gaps` as (first missing frame, last missing frame) ranges."""

    def __init__(self, spec: WindowSpec, preprocess: Callable[[int, object], torch.Tensor | None],
                 first_start: int = 0):
        self.spec = spec
        self.preprocess = preprocess
        self.next_start = first_start
        self.gaps: list[tuple[int, int]] = []
        self._ring: torch.Tensor | None = None        # (span, C, H, W), allocated at the first frame
        self._held = np.full(spec.span, -1, dtype=np.int64)  # frame index held by each slot (-1: none)
        self._has_pixels = np.zeros(spec.span, dtype=bool)    # False: preprocess gave None for that frame
        self._last_index = first_start - 1

    def needs(self, index: int) -> bool:
        """Does a window not yet emitted use frame `index`?"""
        spec = self.spec
        first_k = max(0, -(-(index - spec.span + 1 - self.next_start) // spec.stride))  # ceil division
        last_k = (index - self.next_start) // spec.stride
        return any((index - self.next_start - k * spec.stride) % spec.frame_step == 0
                   for k in range(first_k, last_k + 1))

    def push(self, index: int, frame) -> list[Window]:
        if index > self._last_index + 1:
            self._record_gap(self._last_index + 1, index - 1)
        self._last_index = index
        if self.needs(index):
            pixels = self.preprocess(index, frame)  # (C, H, W) or None
            slot = index % self.spec.span
            if pixels is not None:
                if self._ring is None:
                    self._ring = torch.empty((self.spec.span, *pixels.shape), dtype=pixels.dtype)
                self._ring[slot] = pixels
            self._held[slot] = index
            self._has_pixels[slot] = pixels is not None
        done = []
        while self.next_start + self.spec.span - 1 <= index:  # the pending window's last frame has arrived
            window = self._assemble(self.next_start)
            if window is not None:
                done.append(window)
            self.next_start += self.spec.stride
        return done

    def finish(self, end_frame: int | None) -> None:
        """The stream ended; `end_frame` (exclusive) is where it should have ended (None: where it did)."""
        if end_frame is not None and end_frame > self._last_index + 1:
            self._record_gap(self._last_index + 1, end_frame - 1)

    def _assemble(self, start: int) -> Window | None:
        indices = start + self.spec.frame_step * np.arange(self.spec.num_frames)  # (T,)
        slots = indices % self.spec.span
        if not np.array_equal(self._held[slots], indices):
            return None  # a frame is missing: the gap is recorded where the frames went missing
        if not self._has_pixels[slots].all():
            return Window(start_frame=int(start), end_frame=int(indices[-1]), frames=None)
        frames = self._ring[torch.from_numpy(slots)]  # (T, C, H, W): a copy, the ring moves on
        return Window(start_frame=int(start), end_frame=int(indices[-1]), frames=frames)

    def _record_gap(self, first: int, last: int) -> None:
        if self.gaps and self.gaps[-1][1] == first - 1:
            self.gaps[-1] = (self.gaps[-1][0], last)
        else:
            self.gaps.append((first, last))
