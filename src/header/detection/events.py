"""From per-window header probabilities to events: smooth in time, pick peaks, suppress near-duplicates.

    smoothed = smooth(probs, centres, width=3, max_step=stride)   # moving average within unbroken runs
    events = pick_events(centres, smoothed, threshold=0.5, min_gap=25)

A peak is a window whose smoothed probability is >= threshold and >= both neighbours (the first of a plateau);
peaks are then taken highest first and any peak closer than `min_gap` frames to a taken one is dropped
(non-maximum suppression in time), so one header gives one event even when its probability wobbles.
"""
import numpy as np


def split_runs(centres: np.ndarray, max_step: float) -> list[slice]:
    """Slices of consecutive windows whose centres are at most `max_step` apart (a gap starts a new run)."""
    if len(centres) == 0:
        return []
    breaks = np.flatnonzero(np.diff(centres) > max_step) + 1
    edges = [0, *breaks.tolist(), len(centres)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def smooth(probs: np.ndarray, centres: np.ndarray, *, width: int, max_step: float) -> np.ndarray:
    """Centred moving average over `width` windows (odd; 1 = none), never across a gap; edges average fewer."""
    assert width >= 1 and width % 2 == 1, f"smoothing width must be odd and >= 1, got {width}"
    out = np.asarray(probs, dtype=np.float64).copy()
    if width == 1:
        return out
    kernel, half = np.ones(width), width // 2
    for run in split_runs(np.asarray(centres), max_step):
        values = out[run]
        centred = slice(half, half + len(values))  # "full" convolution, centred: also right for runs < width
        out[run] = np.convolve(values, kernel)[centred] / np.convolve(np.ones_like(values), kernel)[centred]
    return out


def peak_indices(values: np.ndarray, threshold: float) -> np.ndarray:
    """Indices i with values[i] >= threshold, values[i] >= values[i-1] and values[i] > values[i+1] (ends count
    as lower neighbours)."""
    padded = np.concatenate([[-np.inf], values, [-np.inf]])
    left_ok = padded[1:-1] >= padded[:-2]
    right_ok = padded[1:-1] > padded[2:]
    return np.flatnonzero(left_ok & right_ok & (values >= threshold))


def suppress_close(positions: np.ndarray, scores: np.ndarray, candidates: np.ndarray, min_gap: float) -> np.ndarray:
    """Non-maximum suppression in time: candidates best score first, each kept only if it is >= min_gap away
    from every kept one. Returns the kept candidates in time order."""
    kept: list[int] = []
    for i in candidates[np.argsort(-scores[candidates], kind="stable")]:
        if all(abs(positions[i] - positions[j]) >= min_gap for j in kept):
            kept.append(int(i))
    return np.array(sorted(kept, key=lambda i: positions[i]), dtype=np.int64)


def pick_events(centres: np.ndarray, smoothed: np.ndarray, *, threshold: float, min_gap: float) -> np.ndarray:
    """Indices of the windows that are events (time order)."""
    candidates = peak_indices(smoothed, threshold)
    return suppress_close(np.asarray(centres, dtype=np.float64), smoothed, candidates, min_gap)


def timecode(frame: int, fps: float) -> str:
    """HH:MM:SS.ff with ff the frame within its second (broadcast style): frame 1537 at 25 fps -> 00:01:01.12."""
    per_second = max(1, round(fps))
    seconds, ff = divmod(int(round(frame * per_second / fps)), per_second)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}.{ff:02d}"
