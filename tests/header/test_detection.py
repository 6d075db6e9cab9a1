"""Detection building blocks: the ring-buffered sliding windows (pixels equal a direct decode, gaps, bounded
memory), smoothing / peak picking / minimum gap, event matching, the incremental windows log, timecodes."""
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torchvision import tv_tensors

from src.core.errors import UserError
from src.header.data.transforms import build_clip_transform
from src.header.detection.events import peak_indices, pick_events, smooth, timecode
from src.header.detection.matching import match_events, read_true_events
from src.header.detection.scoring import frame_preprocessor
from src.header.detection.video_stream import VideoStream
from src.header.detection.window_log import AppendLog, read_windows, resume_start
from src.header.detection.windowing import SlidingWindows, WindowSpec
from src.synthetic.match_video import render_match_video


@pytest.fixture(scope="module")
def match_video(tmp_path_factory):
    return render_match_video(tmp_path_factory.mktemp("video") / "match.mp4", seed=3, duration_s=8, fps=10, size=48)


def _decode_all(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])  # (N, H, W, 3)


@pytest.mark.parametrize("num_frames,frame_step,stride", [(8, 1, 2), (4, 3, 5), (5, 2, 1)])
def test_ring_buffer_windows_equal_directly_decoded_frames(match_video, num_frames, frame_step, stride):
    transform = build_clip_transform(input_size=32, augment=False, flip_prob=0.0, color_jitter={}, normalise=True,
                                     mean=[0.45] * 3, std=[0.225] * 3)
    spec = WindowSpec(num_frames=num_frames, frame_step=frame_step, stride=stride)
    sliding = SlidingWindows(spec, frame_preprocessor(transform), first_start=3)
    windows = []
    with VideoStream(match_video.path) as video:
        for index, frame in video.frames(start_frame=3):
            windows.extend(sliding.push(index, frame))
    frames = _decode_all(match_video.path)  # (N, H, W, 3)
    starts = list(range(3, len(frames) - spec.span + 1, stride))
    assert [w.start_frame for w in windows] == starts and sliding.gaps == []
    assert sliding._ring.shape[0] == spec.span  # memory: one window span of frames, whatever the length
    for window in windows:
        indices = window.start_frame + frame_step * np.arange(num_frames)
        direct = torch.from_numpy(frames[indices]).permute(0, 3, 1, 2)  # (T, 3, H, W)
        expected = transform(tv_tensors.Video(direct)).as_subclass(torch.Tensor)
        assert window.end_frame == indices[-1]
        torch.testing.assert_close(window.frames, expected, rtol=0, atol=1e-6)


def test_missing_frames_skip_the_windows_that_need_them_and_are_recorded_as_a_gap():
    sliding = SlidingWindows(WindowSpec(num_frames=4, frame_step=1, stride=2), lambda i, f: torch.full((1,), float(f)))
    windows = [w for i in [*range(0, 10), *range(14, 30)] for w in sliding.push(i, i)]
    assert sliding.gaps == [(10, 13)]
    starts = [w.start_frame for w in windows]
    assert starts == [0, 2, 4, 6, 14, 16, 18, 20, 22, 24, 26]  # 8..12 would need frames 10-13
    assert all(w.frames.flatten().tolist() == list(range(w.start_frame, w.start_frame + 4)) for w in windows)


def test_only_needed_frames_are_preprocessed():
    seen = []
    sliding = SlidingWindows(WindowSpec(num_frames=2, frame_step=3, stride=10),
                             lambda i, f: seen.append(f) or torch.zeros(1))
    for i in range(40):
        sliding.push(i, i)
    assert seen == [0, 3, 10, 13, 20, 23, 30, 33]


def test_smoothing_averages_within_runs_and_not_across_gaps():
    probs = np.array([0, 0, 1, 0, 0, 1, 1], dtype=float)
    centres = np.array([0, 2, 4, 6, 8, 30, 32], dtype=float)  # a gap between 8 and 30
    out = smooth(probs, centres, width=3, max_step=3)
    np.testing.assert_allclose(out, [0, 1 / 3, 1 / 3, 1 / 3, 0, 1, 1])


def test_peaks_and_minimum_gap_keep_the_strongest_of_close_peaks():
    centres = np.arange(0, 100, 2, dtype=float)
    values = np.zeros(50)
    values[[5, 8, 30]] = [0.7, 0.9, 0.6]    # peaks at frames 10, 16 (6 apart) and 60
    values[40] = 0.3                        # below the threshold
    assert peak_indices(values, 0.5).tolist() == [5, 8, 30]
    assert pick_events(centres, values, threshold=0.5, min_gap=10).tolist() == [8, 30]
    assert pick_events(centres, values, threshold=0.5, min_gap=5).tolist() == [5, 8, 30]
    plateau = np.array([0.1, 0.8, 0.8, 0.1])
    assert peak_indices(plateau, 0.5).tolist() == [2]  # one event per plateau


def test_each_true_event_is_matched_at_most_once():
    match = match_events(detected=np.array([100, 104, 300, 500]), scores=np.array([0.6, 0.9, 0.8, 0.7]),
                         true=np.array([102, 296, 900]), tolerance=5)
    assert match.detection_to_true.tolist() == [-1, 0, 1, -1]  # 104 is more confident: it takes 102
    assert match.true_hit.tolist() == [True, True, False]
    metrics = match.metrics(0.5)
    assert (metrics["true_positives"], metrics["false_positives"], metrics["false_negatives"]) == (2, 2, 1)
    assert metrics["precision"] == 0.5 and metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_annotations_need_a_frame_column(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("event,frame\n1,30\n2,10\n")
    assert read_true_events(good).tolist() == [10, 30]
    bad = tmp_path / "bad.csv"
    bad.write_text("time\n1.0\n")
    with pytest.raises(UserError, match="no `frame` column"):
        read_true_events(bad)
    with pytest.raises(UserError, match="no such file"):
        read_true_events(tmp_path / "missing.csv")


def test_windows_log_survives_a_torn_line_and_resumes_after_the_last_row(tmp_path):
    settings = {"stride": 4, "num_frames": 8}
    log = AppendLog(tmp_path / "windows.csv", ("start_frame", "end_frame", "center_time_s", "prob_header"), fresh=True)
    log.append([(0, 7, 0.35, 0.1), (4, 11, 0.75, 0.2)])
    log.close()
    (tmp_path / "settings.json").write_text('{"stride": 4, "num_frames": 8}')
    with open(tmp_path / "windows.csv", "a") as handle:
        handle.write("8,15,1.1")  # a kill in the middle of a line
    assert read_windows(tmp_path / "windows.csv")["start_frame"].tolist() == [0, 4]
    assert resume_start(tmp_path, settings, resume=True) == 8
    assert resume_start(tmp_path, settings, resume=False) is None
    with pytest.raises(UserError, match="stride"):
        resume_start(tmp_path, {**settings, "stride": 2}, resume=True)
    again = AppendLog(tmp_path / "windows.csv", ("start_frame",), fresh=False)  # drops the torn line
    again.append([(8, 15, 1.15, 0.3)])
    again.close()
    assert read_windows(tmp_path / "windows.csv")["start_frame"].tolist() == [0, 4, 8]


def test_timecode_counts_frames_within_the_second():
    assert timecode(1537, 25) == "00:01:01.12"
    assert timecode(25 * 3600 + 24, 25) == "01:00:00.24"
    assert timecode(0, 29.97) == "00:00:00.00"


def test_match_video_ground_truth_is_at_the_contact_frames(match_video):
    frames = _decode_all(match_video.path)
    assert len(frames) == match_video.num_frames and match_video.event_frames
    truth = read_true_events(match_video.events_csv)
    assert truth.tolist() == match_video.event_frames
    assert np.all(np.diff(truth) >= 4.0 * match_video.fps - 8)  # events at least min_event_gap_s apart (± a shot)
