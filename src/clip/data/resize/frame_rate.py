"""Resampling to another frame rate by timestamps: output frame k shows the input frame on screen at time k / rate.

A frame is on screen from its timestamp until the next frame's (the last one for one input frame period), so a
video of N frames at rate r becomes ceil(N x rate / r) frames: at half the rate every other frame, at twice the
rate every frame twice. Timestamps that are missing or go backwards (damaged files) count as one input period
after the previous frame.
"""
import math
from collections.abc import Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")

# Seconds: an output instant this close to an input timestamp falls on that frame (float rounding of pts x base).
EPSILON = 1e-6


def at_rate(timed: Iterable[tuple[float | None, Item]], in_rate: float, out_rate: float) -> Iterator[Item]:
    """The items of `timed` ((seconds or None, item) in presentation order) as the frames of an `out_rate` video."""
    in_period, out_period = 1.0 / in_rate, 1.0 / out_rate
    emitted, start, previous_time, previous = 0, None, None, None
    for seconds, item in timed:
        if previous_time is None:
            start, now = seconds or 0.0, 0.0
        else:
            now = seconds - start if seconds is not None else math.nan
            if not now > previous_time:                          # nan (no timestamp) or not increasing
                now = previous_time + in_period
            while emitted * out_period < now - EPSILON:          # instants before this frame: the previous one
                yield previous
                emitted += 1
        previous_time, previous = now, item
    if previous_time is None:
        return
    while emitted * out_period < previous_time + in_period - EPSILON:  # the last frame's time on screen
        yield previous
        emitted += 1
