"""Event-level scoring of detections against annotated headers, with a time tolerance.

Detections are taken most confident first; each takes the nearest still-unmatched true event within
±tolerance frames (so every true event is matched at most once, and a double detection of one header counts as a
false positive). precision = hits / detections, recall = hits / true events, F1 their harmonic mean.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.errors import UserError

FRAME_COLUMNS = ("frame", "peak_frame")  # what an annotation CSV may call its frame numbers


@dataclass
class EventMatch:
    detection_to_true: np.ndarray   # (num_detections,) index of the matched true event, -1 when none
    true_hit: np.ndarray            # (num_true,) bool

    def metrics(self, tolerance_s: float) -> dict:
        hits = int(self.true_hit.sum())
        detections, trues = len(self.detection_to_true), len(self.true_hit)
        precision = hits / detections if detections else 0.0
        recall = hits / trues if trues else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "true_positives": hits,
                "false_positives": detections - hits, "false_negatives": trues - hits,
                "num_detections": detections, "num_true_events": trues, "tolerance_s": tolerance_s}


def match_events(detected: np.ndarray, scores: np.ndarray, true: np.ndarray, tolerance: float) -> EventMatch:
    """`detected`, `true`: frame numbers; `scores`: the detections' confidence; tolerance in frames."""
    detected, true = np.asarray(detected, dtype=np.float64), np.asarray(true, dtype=np.float64)
    to_true = np.full(len(detected), -1, dtype=np.int64)
    hit = np.zeros(len(true), dtype=bool)
    for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
        distance = np.where(hit, np.inf, np.abs(true - detected[i]))
        if len(true) and distance.min() <= tolerance:
            j = int(np.argmin(distance))
            to_true[i], hit[j] = j, True
    return EventMatch(detection_to_true=to_true, true_hit=hit)


def read_true_events(path: Path) -> np.ndarray:
    """Frame numbers of the annotated headers: a CSV with a `frame` (or `peak_frame`) column."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"events_csv={path}: no such file; pass a CSV with a `frame` column of true header frames")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"events_csv={path}: not a readable CSV ({err}); it needs a `frame` column") from err
    column = next((c for c in FRAME_COLUMNS if c in table.columns), None)
    if column is None:
        raise UserError(f"events_csv={path}: no `frame` column (has: {', '.join(map(str, table.columns))}); "
                        f"add one with the frame number of each true header")
    frames = pd.to_numeric(table[column], errors="coerce")
    if frames.isna().any() or (frames < 0).any():
        row = int(np.flatnonzero(frames.isna().to_numpy() | (frames < 0).to_numpy())[0])
        raise UserError(f"events_csv={path} row {row + 1}: frame {str(table[column].iloc[row])!r} is not a frame "
                        f"number >= 0; fix it")
    return np.sort(frames.to_numpy(dtype=np.float64)).astype(np.int64)
