"""The one crop (ball at the centre, padded at the edges, never shifted) and the ball tracks (interpolation within
the gap limit, scores, bad files)."""
import numpy as np
import pandas as pd
import pytest

from src.core.errors import UserError
from src.header.footage.crop import CropSettings, crop_frame, crop_window
from src.header.footage.tracks import read_tracks, track_for

from .square_video import magenta_centre

BALL_CROP = CropSettings(mode="ball", crop_scale=4.5, min_crop=16, size=48)


def _frame_with_square(x: float, y: float, side: int, height: int = 120, width: int = 200) -> np.ndarray:
    frame = np.random.default_rng(0).integers(60, 140, (height, width, 3), dtype=np.uint8)  # (H, W, 3)
    frame[int(y):int(y) + side, int(x):int(x) + side] = (250, 0, 250)
    return frame


@pytest.mark.parametrize("x,y", [(90, 50), (0, 0), (194, 114), (3, 100), (150, 2)])
def test_the_square_planted_at_the_box_is_at_the_centre_of_its_crop(x, y):
    frame = _frame_with_square(x, y, 6)
    crop = crop_frame(frame, np.array([x, y, 6, 6], float), BALL_CROP)  # (48, 48, 3)
    assert crop.shape == (48, 48, 3) and crop.dtype == np.uint8
    row, col = magenta_centre(crop)
    # The centre of a 48-pixel crop is 23.5; a 27-pixel square (4.5 x 6) cut on whole pixels can sit half a video
    # pixel off, 0.9 crop pixels after the resize.
    tolerance = 0.5 * 48 / 27 + 0.25
    assert abs(row - 23.5) <= tolerance and abs(col - 23.5) <= tolerance


def test_crops_at_the_frame_edge_are_padded_black_not_shifted():
    frame = _frame_with_square(0, 0, 6)
    left, top, side = crop_window(np.array([0, 0, 6, 6], float), BALL_CROP)
    assert (left, top, side) == (-10, -10, 27)  # side = 4.5 x 6 = 27, centred on (3, 3) to half a pixel
    crop = crop_frame(frame, np.array([0, 0, 6, 6], float), CropSettings("ball", 4.5, 16, 27))  # no resize
    assert (crop[:10] == 0).all() and (crop[:, :10] == 0).all()      # above and left of the frame: black
    assert (crop[10:16, 10:16] == (250, 0, 250)).all()               # the ball, at the centre (13.5) +- 0.5
    np.testing.assert_array_equal(crop[10:, 10:], frame[:17, :17])   # the rest is the frame, unmoved


def test_the_crop_side_follows_the_ball_but_never_below_min_crop():
    assert crop_window(np.array([50, 50, 2, 2], float), BALL_CROP)[2] == 16    # 4.5 x 2 = 9 < min_crop
    assert crop_window(np.array([50, 50, 10, 8], float), BALL_CROP)[2] == 45   # 4.5 x max(w, h)


def test_whole_frame_mode_resizes_the_frame_and_needs_no_box():
    frame = _frame_with_square(90, 50, 6)
    crop = crop_frame(frame, None, CropSettings("whole_frame", 4.5, 16, 32))
    assert crop.shape == (32, 32, 3)


def _tracks(tmp_path, rows, columns=("video_id", "half", "frame", "x", "y", "w", "h", "score"), **kwargs):
    path = tmp_path / "tracks.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return read_tracks([path], **{"min_score": 0.0, **kwargs})


def test_gaps_up_to_the_limit_are_interpolated_linearly_and_longer_ones_are_not(tmp_path):
    tracks = _tracks(tmp_path, [("m", 1, 10, 0, 0, 4, 4, 1), ("m", 1, 13, 30, 9, 10, 4, 1),   # gap of 2 frames
                                ("m", 1, 20, 0, 0, 4, 4, 1)])                                  # gap of 6 frames
    track = track_for(tracks, "m", 1, 1)
    boxes = track.boxes_at(np.array([9, 10, 11, 12, 13, 15, 20, 21]), max_gap=5)
    np.testing.assert_allclose(boxes[1], [0, 0, 4, 4])
    np.testing.assert_allclose(boxes[2], [10, 3, 6, 4])          # a third of the way
    np.testing.assert_allclose(boxes[3], [20, 6, 8, 4])
    assert np.isnan(boxes[0]).all() and np.isnan(boxes[7]).all()   # before the first box, after the last
    assert np.isnan(boxes[5]).all()                                # 6 missing frames > max_gap 5
    assert np.isfinite(track.boxes_at(np.array([15]), max_gap=6)).all()


def test_low_scores_are_dropped_and_the_best_box_of_a_frame_is_the_ball(tmp_path):
    tracks = _tracks(tmp_path, [("m", 1, 5, 1, 1, 4, 4, 0.2), ("m", 1, 5, 50, 50, 4, 4, 0.8),
                                ("m", 1, 6, 9, 9, 4, 4, 0.1)], min_score=0.3)
    track = track_for(tracks, "m", 1, 1)
    assert track.frames.tolist() == [5]
    np.testing.assert_allclose(track.boxes[0], [50, 50, 4, 4])


def test_a_csv_of_one_video_needs_no_video_id_but_cannot_serve_several(tmp_path):
    tracks = _tracks(tmp_path, [(3, 1, 1, 4, 4)], columns=("frame", "x", "y", "w", "h"))
    assert track_for(tracks, "any", 2, 1).frames.tolist() == [3]
    with pytest.raises(UserError, match="describes one video"):
        track_for(tracks, "any", 2, videos=2)


@pytest.mark.parametrize("rows,columns,message", [
    ([(1, 1, 1, 4)], ("frame", "x", "y", "w"), "missing column.*h"),
    ([("one", 1, 1, 4, 4)], ("frame", "x", "y", "w", "h"), "row 1 .*frame 'one' is not an integer"),
    ([(1, 1, 1, 0, 4)], ("frame", "x", "y", "w", "h"), "row 1 .*w > 0 and h > 0"),
    ([("m", 1, 1, 1, 4, 4)], ("video_id", "frame", "x", "y", "w", "h"), "only one of video_id, half"),
])
def test_a_bad_tracks_csv_is_one_error_naming_the_problem(tmp_path, rows, columns, message):
    with pytest.raises(UserError, match=message):
        _tracks(tmp_path, rows, columns=columns)
