"""`python -m data_tools.make_header_clips` on small test videos: which clips are written (labelled rows, random
negatives away from headers), what they hold (the ball at the centre of every frame), what is skipped and why,
resume, parallel workers, and bad input (one error line, nothing written)."""
import json
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from data_tools.make_header_clips import main
from tests.core.bad_input_helpers import one_error_line

from .square_video import magenta_centre, write_square_video

OPTIONS = ["--num_frames", "8", "--size", "32", "--min_crop", "16", "--negative_ratio", "3", "--guard_frames", "10",
           "--no_progress"]
LABELS = [  # video_id, half, frame, label, video_path, the reason it is skipped ("" = written)
    ("m1", 1, 40, "1", "", ""), ("m1", 1, 120, "", "", ""), ("m1", 1, 205, "1", "", "no_ball"),
    ("m1", 1, 3, "1", "", "clip_outside_video"), ("m1", 1, 5000, "1", "", "frame_out_of_range"),
    ("m1", 1, 120, "1", "", "duplicate"), ("m1", 1, 60, "7", "", "bad_label"), ("m2", 1, 100, "1", "", ""),
    ("m3", 1, 5, "1", "", "video_ambiguous"), ("m4", 1, 5, "1", "", "video_missing"),
    ("m5", 2, 50, "1", "videos/m1/1_64p.mp4", ""),
]


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    root = tmp_path_factory.mktemp("footage")
    tracks = [write_square_video(root / "videos/m1/1_64p.mp4", frames=300, untracked=range(200, 216)),
              write_square_video(root / "videos/m2_1.mp4", frames=200, video_id="m2")]
    m1 = tracks[0]
    tracks.append(m1.assign(video_id="m5", half=2))  # m5 half 2 is m1's file, named by video_path
    for name in ("1_a.mp4", "1_b.mp4"):  # two candidates for m3 half 1
        write_square_video(root / "videos/m3" / name, frames=10, video_id="m3")
    pd.concat(tracks).to_csv(root / "tracks.csv", index=False)
    pd.DataFrame([row[:5] for row in LABELS], columns=["video_id", "half", "frame", "label", "video_path"]).to_csv(
        root / "labels.csv", index=False)
    return root


def _run(capsys, footage, out, *extra):
    capsys.readouterr()
    code = main(["--labels", str(footage / "labels.csv"), "--videos", str(footage / "videos"), "--tracks",
                 str(footage / "tracks.csv"), "--output_dir", str(out), *OPTIONS, *extra])
    return code, capsys.readouterr()


@pytest.fixture(scope="module")
def made(footage, tmp_path_factory):
    out = tmp_path_factory.mktemp("made") / "clips_out"
    assert main(["--labels", str(footage / "labels.csv"), "--videos", str(footage / "videos"), "--tracks",
                 str(footage / "tracks.csv"), "--output_dir", str(out), *OPTIONS]) == 0
    return out


def test_labelled_rows_and_three_negatives_per_header_are_written_per_video(made):
    clips = pd.read_csv(made / "all_clips.csv")
    assert list(clips.columns) == ["path", "label", "video_id", "half", "frame", "group"]
    written = {(r[0], r[1], r[2]) for r in LABELS if not r[5]}
    assert set(zip(clips.video_id, clips.half, clips.frame)) >= written
    negatives = clips[clips.label == 0]
    assert negatives.groupby("video_id").size().to_dict() == {"m1": 6, "m2": 3, "m5": 3}  # 3 x headers, exactly
    assert (clips.group == clips.video_id + "_" + clips.half.astype(str)).all()
    for video_id, rows in negatives.groupby("video_id"):
        headers = np.array([r[2] for r in LABELS if r[0] == video_id and r[3] in ("1", "")])
        distance = np.abs(rows.frame.to_numpy()[:, None] - headers[None, :]).min(1)
        assert (distance > 10).all(), (video_id, rows.frame.tolist())           # never within ±guard
        assert rows.frame.is_unique                                            # no two share a frame
    untracked = negatives[negatives.video_id.isin(["m1", "m5"])].frame.to_numpy()
    assert not ((untracked + 4 >= 200) & (untracked - 4 <= 215)).any()         # every clip frame has a ball


def test_every_clip_frame_has_the_ball_at_its_centre(made):
    clips = pd.read_csv(made / "all_clips.csv")
    for row in clips.itertuples():
        clip = np.load(made / row.path)
        assert clip.shape == (8, 32, 32, 3) and clip.dtype == np.uint8
        assert row.path == f"clips/{row.video_id}_{row.half}_{row.frame}_{row.label}.npy"
        for frame in clip:
            r, c = magenta_centre(frame)
            assert abs(r - 15.5) <= 1.5 and abs(c - 15.5) <= 1.5, (row.path, r, c)


def test_rows_that_cannot_be_clips_are_listed_with_their_reason(made):
    skipped = pd.read_csv(made / "skipped_samples.csv")
    assert list(skipped.columns) == ["video_id", "half", "frame", "label", "reason", "detail"]
    expected = sorted((r[0], r[2], r[5]) for r in LABELS if r[5])
    assert sorted(zip(skipped.video_id, skipped.frame, skipped.reason)) == expected
    summary = json.loads((made / "summary.json").read_text())
    assert summary["clips"] == 16 and summary["clips_by_label"] == {"0": 12, "1": 4}
    assert summary["skipped"] == len(expected) and sum(summary["skipped_by_reason"].values()) == len(expected)
    assert summary["clip_settings"] == {"crop": "ball", "crop_scale": 4.5, "min_crop": 16, "size": 32,
                                        "num_frames": 8, "frame_step": 1, "max_track_gap": 5, "min_track_score": 0.0}


def test_resume_writes_only_what_is_missing_and_a_second_plain_run_is_refused(made, footage, tmp_path, capsys):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(made, out)
    clips = sorted((out / "clips").iterdir())
    os.remove(clips[0])
    before = {p: p.stat().st_mtime_ns for p in clips[1:]}
    code, _ = _run(capsys, footage, out, "--resume")
    assert code == 0
    assert {p: p.stat().st_mtime_ns for p in clips[1:]} == before     # nothing written twice
    np.testing.assert_array_equal(np.load(clips[0]), np.load(made / "clips" / clips[0].name))
    pd.testing.assert_frame_equal(pd.read_csv(out / "all_clips.csv"), pd.read_csv(made / "all_clips.csv"))
    code, captured = _run(capsys, footage, out)
    one_error_line(SimpleNamespace(returncode=code, stderr=captured.err, stdout=captured.out),
                   "already holds", "--resume")
    code, captured = _run(capsys, footage, out, "--resume", "--size", "40")
    one_error_line(SimpleNamespace(returncode=code, stderr=captured.err, stdout=captured.out),
                   "other settings (clip_settings differ)")


def test_each_needed_frame_is_decoded_and_cropped_once(footage, tmp_path, capsys, monkeypatch):
    import src.header.footage.clip_writer as clip_writer

    cropped = []
    real = clip_writer.crop_frame
    monkeypatch.setattr(clip_writer, "crop_frame", lambda rgb, box, crop: cropped.append(1) or real(rgb, box, crop))
    pd.DataFrame({"video_id": ["m2", "m2"], "half": [1, 1], "frame": [40, 43]}).to_csv(tmp_path / "l.csv", index=False)
    assert main(["--labels", str(tmp_path / "l.csv"), "--videos", str(footage / "videos"), "--tracks",
                 str(footage / "tracks.csv"), "--output_dir", str(tmp_path / "o"), *OPTIONS,
                 "--negative_ratio", "0"]) == 0
    assert len(cropped) == len(set(range(36, 44)) | set(range(39, 47)))  # two overlapping clips, 11 frames


def test_two_workers_write_the_same_clips(made, footage, tmp_path, capsys):
    code, _ = _run(capsys, footage, tmp_path / "par", "--workers", "2")
    assert code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "par" / "all_clips.csv"), pd.read_csv(made / "all_clips.csv"))
    for path in (made / "clips").iterdir():
        assert (tmp_path / "par" / "clips" / path.name).read_bytes() == path.read_bytes()


def test_without_tracks_every_clip_is_the_whole_frame(footage, tmp_path):
    assert main(["--labels", str(footage / "labels.csv"), "--videos", str(footage / "videos"), "--output_dir",
                 str(tmp_path / "w"), *OPTIONS]) == 0
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert summary["clip_settings"]["crop"] == "whole_frame"
    assert "no_ball" not in summary["skipped_by_reason"]  # no track, no ball to miss


BAD = [
    ("labels_missing_column", "video_id,half\nm1,1\n", [], "missing column(s) frame"),
    ("frame_not_an_integer", "video_id,half,frame\nm1,1,12.5\n", [], "row 1 (line 2): frame '12.5' is not an integer"),
    ("half_not_an_integer", "video_id,half,frame\nm1,one,12\n", [], "half 'one' is not an integer"),
    ("negative_ratio_negative", None, ["--negative_ratio", "-1"], "--negative_ratio: -1: must be a finite number >= 0"),
    ("size_0", None, ["--size", "0"], "--size: 0: must be an integer >= 1"),
    ("tracks_missing_columns", None, ["--tracks", "{bad_tracks}"], "missing column(s) w, h"),
    ("tracks_missing", None, ["--tracks", "{root}/none.csv"], "none.csv: no such file"),
    ("videos_not_a_folder", None, ["--videos", "{root}/nope"], "--videos {root}/nope: no such folder"),
]


@pytest.mark.parametrize("name, labels, extra, words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_line_and_writes_nothing(footage, tmp_path, capsys, name, labels, extra, words):
    labels_csv = footage / "labels.csv"
    if labels is not None:
        labels_csv = tmp_path / "labels.csv"
        labels_csv.write_text(labels)
    (tmp_path / "bad_tracks.csv").write_text("frame,x,y\n1,2,3\n")
    fill = {"bad_tracks": tmp_path / "bad_tracks.csv", "root": tmp_path}
    argv = ["--labels", str(labels_csv), "--videos", str(footage / "videos"), "--output_dir", str(tmp_path / "out"),
            *OPTIONS, *[a.format(**fill) for a in extra]]
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    one_error_line(SimpleNamespace(returncode=code, stderr=captured.err, stdout=captured.out),
                   words.format(**fill))
    assert not (tmp_path / "out").exists()


def test_a_video_with_keyframes_far_apart_is_read_forward_after_one_costly_seek(tmp_path, caplog):
    """Keyframes far apart: a seek restarts long before its target. After the first run of frames shows that, the
    rest is read front to back (src/header/footage/clip_writer.py), and the clips equal a direct decode's."""
    import logging

    import av

    from src.header.footage.crop import CropSettings, crop_frame

    video = tmp_path / "v" / "far_1.mp4"
    write_square_video(video, frames=900, fps=5, video_id="far", gop_size=900).to_csv(tmp_path / "t.csv", index=False)
    with av.open(str(video)) as container:
        keyframes = [i for i, p in enumerate(container.demux(video=0)) if p.is_keyframe]
    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    # x264 adds scene-cut keyframes: put the first clip just before the first keyframe that follows a long stretch
    # without one, so its seek decodes > 2 x SEEK_AFTER_S (10 s = 50 frames at 5 fps) before reaching it.
    first = next(b for a, b in zip(keyframes, keyframes[1:]) if b - a > 120) - 3
    frames = [first, first + 120, first + 240]  # more than 50 frames apart: three runs of frames
    assert frames[-1] + 2 < 900
    pd.DataFrame({"video_id": "far", "half": 1, "frame": frames}).to_csv(tmp_path / "l.csv", index=False)
    with caplog.at_level(logging.INFO, logger="src.header.footage.clip_writer"):
        assert main(["--labels", str(tmp_path / "l.csv"), "--videos", str(tmp_path / "v"), "--output_dir",
                     str(tmp_path / "o"), "--num_frames", "4", "--size", "32", "--negative_ratio", "0",
                     "--no_progress"]) == 0
    assert "keyframes are far apart" in caplog.text
    whole = CropSettings("whole_frame", 4.5, 64, 32)
    for frame in frames:  # whole-frame clips of frames frame-2 .. frame+1
        clip = np.load(tmp_path / "o" / "clips" / f"far_1_{frame}_1.npy")
        expected = np.stack([crop_frame(decoded[f], None, whole) for f in range(frame - 2, frame + 2)])
        np.testing.assert_array_equal(clip, expected)
