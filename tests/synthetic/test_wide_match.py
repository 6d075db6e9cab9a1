"""The broadcast-like wide match footage (src/synthetic/wide_match.py) and `make_synthetic match --wide`: headers
where the ball meets a head, tracks that are the ball, a panning camera, determinism, the CLI and the CSV columns.
Every check reads the decoded video's pixels (ball and heads found by colour), not only what the renderer says."""
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from data_tools import make_synthetic
from src.synthetic.header_clips import SKIN_RGB
from src.synthetic.wide_match import EVENT_COLUMNS, TRACK_COLUMNS, WIDE_GOP_SIZE, render_wide_match
from src.synthetic.wide_shots import KINDS, plan_shots

WIDTH, HEIGHT, FPS = 640, 360, 25
BALL_MIN = 200  # every channel of a ball pixel after H.264 (the ball is 245 grey; the pitch markings stay below 190)


@pytest.fixture(scope="module")
def match(tmp_path_factory):
    """A 10 s wide video (seed 3 has an out-of-view stretch) and all its frames decoded (T, H, W, 3)."""
    video = render_wide_match(tmp_path_factory.mktemp("wide") / "match.mp4", seed=3, duration_s=10, fps=FPS,
                              min_event_gap_s=2.5)
    return video, decode(video.path)


def decode(path: Path, limit: int | None = None) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == limit:
                break
        return np.stack(frames)


def ball_mask(frame: np.ndarray) -> np.ndarray:
    return (frame >= BALL_MIN).all(axis=-1)


def skin_mask(frame: np.ndarray) -> np.ndarray:
    return (np.abs(frame.astype(int) - np.array(SKIN_RGB)) <= 30).all(axis=-1)


def ball_to_skin_px(frame: np.ndarray, cx: float, cy: float, reach: int = 20) -> float:
    """Smallest distance between a ball pixel and a skin pixel within `reach` px of (cx, cy); inf if none."""
    top, left = max(0, int(cy) - reach), max(0, int(cx) - reach)
    window = frame[top:int(cy) + reach, left:int(cx) + reach]
    ball, skin = np.argwhere(ball_mask(window)), np.argwhere(skin_mask(window))
    if not len(ball) or not len(skin):
        return np.inf
    return float(np.sqrt(((ball[:, None] - skin[None]) ** 2).sum(-1)).min())


def box_centres(tracks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"cx": tracks["x"] + tracks["w"] / 2, "cy": tracks["y"] + tracks["h"] / 2,
                         "r": tracks["w"] / 2}).set_axis(tracks["frame"])


def test_events_are_where_the_ball_touches_a_head(match):
    video, frames = match
    events = pd.read_csv(video.events_csv)
    assert events["frame"].tolist() == video.event_frames and len(video.event_frames) >= 2
    assert np.all(np.diff(video.event_frames) >= 2.5 * FPS), "events at least min_event_gap_s apart"
    # The renderer's geometry: the ball touches a head (edge gap <= 0) in the event frames and in no other frame.
    touching = np.flatnonzero(video.ball_head_gaps <= 0)
    assert touching.tolist() == video.event_frames
    frames_from_event = np.abs(np.arange(video.num_frames)[:, None] - np.array(video.event_frames)).min(axis=1)
    assert video.ball_head_gaps[frames_from_event > 3].min() >= 4.0, "else at least NEAR_MISS_GAP from every head"
    centres = box_centres(pd.read_csv(video.tracks_csv))
    for frame in video.event_frames:
        ball = centres.loc[frame]
        assert ball_to_skin_px(frames[frame], ball.cx, ball.cy) <= 2.0, f"frame {frame}: the ball must meet the head"
    # The pixels: away from the contacts (0.12 s, 3 frames, either side) the ball is never next to a head.
    far = [f for f in centres.index if min(abs(f - e) for e in video.event_frames) > 3]
    distances = [ball_to_skin_px(frames[f], centres.loc[f].cx, centres.loc[f].cy) for f in far]
    assert min(distances) >= 4.0, "a ball away from a header must stay clear of every head"
    assert np.isfinite(distances).sum() >= 10, "heads come near the ball outside headers too (near misses)"


def test_tracks_are_the_ball_and_absent_when_it_is_out_of_view(match):
    video, frames = match
    centres = box_centres(pd.read_csv(video.tracks_csv))
    assert centres.index.is_unique and centres.index.is_monotonic_increasing
    inside = centres[(centres.cx - centres.r > 4) & (centres.cx + centres.r < WIDTH - 4)
                     & (centres.cy - centres.r > 4) & (centres.cy + centres.r < HEIGHT - 4)]
    assert len(inside) > 0.7 * len(centres)
    for frame, ball in inside.iterrows():
        top, left = int(ball.cy - ball.r) - 3, int(ball.cx - ball.r) - 3
        span = int(2 * ball.r) + 7
        ys, xs = np.nonzero(ball_mask(frames[frame, top:top + span, left:left + span]))
        assert len(ys) >= 9, f"frame {frame}: no ball at its track box"
        error = np.hypot(xs.mean() + left + 0.5 - ball.cx, ys.mean() + top + 0.5 - ball.cy)
        assert error <= 1.5, f"frame {frame}: the ball's pixels are centred {error:.2f} px from the box centre"
    missing = np.setdiff1d(np.arange(video.num_frames), centres.index)
    runs = np.split(missing, np.flatnonzero(np.diff(missing) > 1) + 1)
    assert max(len(run) for run in runs) >= 8, "at least one stretch with the ball out of view"
    for frame in missing:  # no track row: no ball in the view (a sliver of one just past the border at most)
        assert not ball_mask(frames[frame])[6:-6, 6:-6].any(), f"frame {frame}: a ball in view but no track row"


def column_profile(frame: np.ndarray) -> np.ndarray:
    """(W,) the green channel averaged down each column: the mown stripes make it a fingerprint of the pan."""
    return frame[..., 1].astype(float).mean(axis=0)


def best_shift(before: np.ndarray, after: np.ndarray, largest: int = 40) -> tuple[int, float, float]:
    """The pan (px) that best maps `before`'s column profile onto `after`'s, its residual, and the residual of 0."""
    def residual(shift: int) -> float:
        a, b = (before[shift:], after[:len(after) - shift]) if shift >= 0 else (before[:shift], after[-shift:])
        return float(np.abs(a - b).mean())
    shifts = range(-largest, largest + 1)
    best = min(shifts, key=residual)
    return best, residual(best), residual(0)


def test_the_camera_pans(match):
    video, frames = match
    pairs = [(t, t + 5) for t in range(0, video.num_frames - 5, 20)
             if min(abs(t - e) for e in video.event_frames) > 10]
    moved = 0
    for before, after in pairs:
        shift, best, still = best_shift(column_profile(frames[before]), column_profile(frames[after]))
        if abs(shift) >= 2:  # (a pan under 2 px is within what the players and sub-pixel shifts blur)
            assert best < 0.5 * still, f"frames {before}->{after}: the background changed but did not move"
            moved += 1
    assert moved >= len(pairs) // 2 >= 4, f"the background moved in only {moved} of {len(pairs)} frame pairs"


@pytest.mark.parametrize("seed", range(20))
def test_shot_plan_covers_the_video_with_spaced_events_inside(seed):
    shots = plan_shots(np.random.default_rng(seed), 1000, (16, 32), 100, 0.15, 0.15)
    assert [shot.start for shot in shots] == np.cumsum([0] + [shot.length for shot in shots[:-1]]).tolist()
    assert shots[-1].start + shots[-1].length == 1000 and all(16 <= s.length <= 32 for s in shots[:-1])
    events = [shot.start + shot.contact for shot in shots if shot.kind == "header"]
    assert len(events) >= 3 and np.diff(events).min() >= 100, "events min_gap_frames apart"
    assert shots[0].kind != "header" != shots[-1].kind, "no event in the first or last shot"
    assert all(shot.kind in KINDS for shot in shots) and {"out_of_view", "elsewhere"} <= {s.kind for s in shots}


def test_same_seed_same_output_another_seed_differs(tmp_path):
    small = {"duration_s": 4, "fps": FPS, "width": 320, "height": 180}
    first = render_wide_match(tmp_path / "a.avi", seed=5, **small)  # MPEG-4 Part 2: bit-exact for a seed
    other = render_wide_match(tmp_path / "c.avi", seed=6, video_id="a", **small)
    again = render_wide_match(tmp_path / "b.avi", seed=5, video_id="a", **small)  # made after another video
    for kind in ("events_csv", "tracks_csv"):
        assert getattr(first, kind).read_bytes() == getattr(again, kind).read_bytes(), f"same seed, other {kind}"
    assert first.tracks_csv.read_bytes() != other.tracks_csv.read_bytes()
    first_frame, again_frame, other_frame = (decode(video.path, limit=1) for video in (first, again, other))
    assert np.array_equal(first_frame, again_frame)
    assert np.abs(first_frame.astype(int) - other_frame).mean() > 2, "another seed, same picture"


def test_csv_columns_keyframes_and_ids(tmp_path):
    video = render_wide_match(tmp_path / "clip.mp4", seed=1, duration_s=4, fps=FPS, width=320, height=180,
                              video_id="game_7", half=2)
    events, tracks = pd.read_csv(video.events_csv), pd.read_csv(video.tracks_csv)
    assert tuple(events.columns) == EVENT_COLUMNS == ("event", "frame", "time_s", "video_id", "half")
    assert tuple(tracks.columns) == TRACK_COLUMNS == ("video_id", "half", "frame", "x", "y", "w", "h", "score")
    assert set(tracks["video_id"]) == {"game_7"} and set(tracks["half"]) == {2} and set(tracks["score"]) == {1.0}
    # The diameter: 2 x 3-4 px at 360 px tall, so 3-4 px at 180.
    assert (tracks["w"] == tracks["h"]).all() and tracks["w"].between(2.99, 4.01).all()
    assert (events["time_s"] == (events["frame"] / FPS).round(3)).all()
    with av.open(str(video.path)) as container:
        keyframes = [packet.is_keyframe for packet in container.demux(video=0) if packet.size]
    assert len(keyframes) == video.num_frames == 100
    assert WIDE_GOP_SIZE == 250 and sum(keyframes) <= 2, "a broadcast keyframe interval (GOP 12 would give 9)"


def test_cli_writes_video_events_and_tracks(tmp_path, capsys):
    out = tmp_path / "games" / "wide.mp4"
    argv = ["match", "--wide", "--out", str(out), "--minutes", "0.07", "--fps", "25", "--width", "320",
            "--height", "180", "--half", "2"]
    assert make_synthetic.main(argv) == 0
    assert str(out) in capsys.readouterr().out
    events, tracks = (pd.read_csv(tmp_path / "games" / f"wide_{kind}.csv") for kind in ("events", "tracks"))
    assert set(tracks["video_id"]) == {"wide"} and set(tracks["half"]) == {2}, "video_id defaults to the stem"
    assert decode(out).shape == (105, 180, 320, 3) and tracks["frame"].max() < 105
    assert list(events.columns) == list(EVENT_COLUMNS)


def test_cli_odd_wide_size_is_one_error_line(tmp_path, capsys):
    """(The other bad --wide arguments are rows of tests/core/test_bad_input_tools.py.)"""
    out = tmp_path / "new" / "wide.mp4"
    assert make_synthetic.main(["match", "--wide", "--out", str(out), "--width", "641"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and len(captured.err.splitlines()) == 1
    assert "--width 641: must be even" in captured.err
    assert not (tmp_path / "new").exists(), "nothing written for bad input"
