"""`python -m data_tools.resize_videos` on the synthetic archive layouts (96x64 videos, --short_side 32): the tree,
list files and names kept, every video's short side and frame count, a run that trains on the resized tree, the
process pool, every container, --fps, resume after a kill, undecodable videos. Bad input: test_resize_videos_input.py.
"""
import errno
import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from data_tools.resize_videos import main
from src.clip.data.reader import VideoReader
from src.clip.data.readers.kinetics400 import VIDEO_EXTENSIONS, read_kinetics400
from src.clip.data.readers.ucf101 import read_ucf101
from src.clip.data.resize import file_job
from src.clip.data.resize.containers import CONTAINERS
from src.clip.data.resize.frame_rate import at_rate
from src.synthetic.datasets import make_action_dataset
from src.synthetic.video_encoding import encode_video
from tests.clip.video_helpers import gray_index, write_gray_video

TINY = {"seed": 0, "num_frames": 12, "width": 96, "height": 64, "groups": 3, "clips_per_group": 1}
REPORTS = {"resize_summary.json", "failures.csv"}


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def videos(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in VIDEO_EXTENSIONS)


def frame_count(path: Path) -> int:
    with VideoReader(path) as video:            # what the datasets index: the readers' own count
        return video.num_frames


def size_of(path: Path) -> tuple[int, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height, stream.codec_context.name


def resize(src: Path, dst: Path, *extra: str) -> int:
    return main(["--src", str(src), "--dst", str(dst), "--short_side", "32", "--no_progress", *extra])


def shown_frames(path: Path) -> list[int]:
    """The gray_frame index every frame of a resized gray video shows, in the readers' frame order."""
    with VideoReader(path) as video:
        frames = video.read(np.arange(video.num_frames)).frames
    return gray_index(frames.float().mean(dim=(1, 2, 3)) / 255).tolist()


@pytest.fixture(scope="module")
def ucf(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(src, dst, the one small video): the ucf101 archive layout, one video already at 48x32, resized once."""
    base = tmp_path_factory.mktemp("resize_ucf")
    src = make_action_dataset(base / "ucf", layout="ucf101", **TINY)
    small = videos(src / "UCF-101")[0]
    encode_video(small, np.zeros((10, 32, 48, 3), np.uint8))      # short side 32: copied as it is
    assert resize(src, base / "ucf_32") == 0
    return src, base / "ucf_32", small


def test_ucf101_tree_keeps_its_files_and_lists_and_every_short_side_is_32(ucf):
    src, dst, small = ucf
    assert files(dst) == files(src) | REPORTS
    for name in files(src):
        if Path(name).suffix not in VIDEO_EXTENSIONS:        # classInd.txt, the CRLF list files, synthetic_info.json
            assert (dst / name).read_bytes() == (src / name).read_bytes(), name
    resized = videos(dst)
    assert len(resized) == len(videos(src)) == 21
    for video in resized:
        original = src / video.relative_to(dst)
        width, height, codec = size_of(video)
        assert (width, height) == (48, 32) and codec == ("mpeg4" if video.suffix == ".avi" else "h264"), video
        assert abs(frame_count(video) - frame_count(original)) <= 1, video
    copied = dst / small.relative_to(src)
    assert copied.read_bytes() == small.read_bytes() and copied.stat().st_mtime == small.stat().st_mtime
    summary = json.loads((dst / "resize_summary.json").read_text())
    assert (summary["status"], summary["reencoded"], summary["copied"], summary["failed"]) == ("complete", 20, 1, 0)
    assert summary["copied_other"] == len(files(src)) - 21 and summary["frames_in"] == summary["frames_out"] == 240
    assert 0 < summary["size_ratio"] < 1 and summary["settings"]["short_side"] == 32
    assert (dst / "failures.csv").read_text().strip() == "path,reason"


def test_the_resized_tree_trains_and_tests_with_the_same_command(ucf, cli, tiny_clip_run, tmp_path):
    _, dst, _ = ucf
    result = cli(["dataset=ucf101", f"dataset.root={dst}", *tiny_clip_run, "trainer.max_epochs=1", "run_id=resized",
                  "dataset.val_fraction=0.5"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "models" / "video_coop" / "ucf101" / "resized"
    assert json.loads((run / "validation_results.json").read_text())["num_videos"] > 0
    tested = json.loads((run / "test_results.json").read_text())["num_videos"]
    assert tested == len(read_ucf101(dst, 1).test) > 0


def test_kinetics400_tree_in_two_worker_processes_indexes_alike(tmp_path):
    src = make_action_dataset(tmp_path / "k400", layout="kinetics400", **TINY)
    assert resize(src, tmp_path / "k400_32", "--workers", "2") == 0
    dst = tmp_path / "k400_32"
    assert files(dst) == files(src) | REPORTS
    for csv in ("train.csv", "validate.csv", "test.csv"):
        assert (dst / "annotations" / csv).read_bytes() == (src / "annotations" / csv).read_bytes()
    before, after = read_kinetics400(src, 0.1), read_kinetics400(dst, 0.1)
    for split in ("train", "val", "test"):
        resized = sorted((r.path.relative_to(dst), r.label) for r in getattr(after, split))
        assert resized == sorted((r.path.relative_to(src), r.label) for r in getattr(before, split)) and resized
    assert all(size_of(v)[:2] == (48, 32) and frame_count(v) == 12 for v in videos(dst))


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_every_container_keeps_its_name_and_frames(tmp_path, suffix):
    (tmp_path / "src" / "clips" / "portrait").mkdir(parents=True)
    write_gray_video(tmp_path / "src" / "clips" / "portrait" / f"a{suffix}", 20, 64, 96)   # portrait
    assert resize(tmp_path / "src", tmp_path / "dst") == 0
    out = tmp_path / "dst" / "clips" / "portrait" / f"a{suffix}"
    expected = {".avi": "mpeg4", ".webm": "vp9"}.get(suffix, "h264")
    assert size_of(out) == (32, 48, expected) and shown_frames(out) == list(range(20))


def test_fps_resamples_by_timestamps_and_resizes_small_videos_too(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write_gray_video(src / "big.mp4", 24, 96, 64)
    write_gray_video(src / "small.avi", 24, 48, 32)                  # short side 32: only the rate changes
    for fps, expected in (("12.5", 12), ("50", 48)):
        assert resize(src, tmp_path / f"fps{fps}", "--fps", fps) == 0
        for name, size in (("big.mp4", (48, 32)), ("small.avi", (48, 32))):
            out = tmp_path / f"fps{fps}" / name
            assert size_of(out)[:2] == size, (fps, name)
            step = 25 / float(fps)                       # the input frame on screen at output frame k: floor(k x step)
            assert shown_frames(out) == [int(k * step) for k in range(expected)], (fps, name)
            with av.open(str(out)) as container:
                assert float(container.streams.video[0].average_rate) == float(fps)
    assert resize(src, tmp_path / "fps25", "--fps", "25") == 0               # the rate it has: small one copied
    assert (tmp_path / "fps25" / "small.avi").read_bytes() == (src / "small.avi").read_bytes()


def test_at_rate_shows_the_frame_on_screen_and_mends_missing_or_backward_timestamps():
    timed = [(2.0, "a"), (2.1, "b"), (None, "c"), (2.05, "d")]     # 10 fps; c has no timestamp, d goes back
    assert list(at_rate(timed, 10, 20)) == ["a", "a", "b", "b", "c", "c", "d", "d"]
    assert list(at_rate(timed, 10, 5)) == ["a", "c"]
    held = [(1.0, "a"), (1.3, "b"), (1.4, "c")]                     # variable rate: a is on screen for 0.3 s
    assert list(at_rate(held, 10, 10)) == ["a", "a", "a", "b", "c"]
    assert list(at_rate([], 10, 10)) == []


def test_a_killed_run_resumes_without_redoing_finished_files(tmp_path, monkeypatch, capsys):
    src = make_action_dataset(tmp_path / "ucf", layout="flat", **TINY)
    dst = tmp_path / "ucf_32"
    real, calls = file_job.process, []

    def killed_after_five(job):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(job.relative)
        return real(job)

    monkeypatch.setattr(file_job, "process", killed_after_five)
    with pytest.raises(SystemExit) as stopped:
        resize(src, dst)
    assert stopped.value.code == 130 and "run the same command again" in capsys.readouterr().err
    monkeypatch.setattr(file_job, "process", real)
    assert json.loads((dst / "resize_summary.json").read_text())["status"] == "running"
    finished = {name: (dst / name).stat().st_mtime_ns for name in calls}
    assert all((dst / name).is_file() for name in calls) and not list(dst.rglob("*.resize-partial"))
    stale = [file_job.partial_path(dst / calls[0]), file_job.partial_path(dst / sorted(files(src))[-1])]
    for path in stale:                                                     # what a kill -9 leaves behind
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a video")
    assert resize(src, dst) == 0
    assert {name: (dst / name).stat().st_mtime_ns for name in calls} == finished
    assert files(dst) == files(src) | REPORTS and not list(dst.rglob("*.resize-partial"))
    summary = json.loads((dst / "resize_summary.json").read_text())
    assert summary["skipped_done"] == 5 and summary["stale_partials_removed"] == 2
    assert summary["reencoded"] + summary["copied_other"] == len(files(src)) - 5
    assert resize(src, dst) == 0                                           # finished: nothing left to do
    again = json.loads((dst / "resize_summary.json").read_text())
    assert again["skipped_done"] == len(files(src)) and again["reencoded"] == 0


def test_undecodable_videos_land_in_failures_csv_and_the_rest_are_written(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    for index in range(3):
        write_gray_video(src / "a" / f"ok{index}.mp4", 10, 96, 64)
    (src / "a" / "random.mp4").write_bytes(os.urandom(4096))
    good = (src / "a" / "ok0.mp4").read_bytes()
    (src / "a" / "cut.mp4").write_bytes(good[: len(good) // 3])                # its index (moov) is at the end
    assert resize(src, tmp_path / "dst") == 0
    assert "failures.csv" in capsys.readouterr().out
    dst = tmp_path / "dst"
    failures = (dst / "failures.csv").read_text().splitlines()
    assert failures[0] == "path,reason" and sorted(line.split(",")[0] for line in failures[1:]) == \
        ["a/cut.mp4", "a/random.mp4"]
    assert all(line.split(",", 1)[1] for line in failures[1:])              # a reason each
    assert files(dst) == {f"a/ok{i}.mp4" for i in range(3)} | REPORTS
    assert json.loads((dst / "resize_summary.json").read_text())["failed"] == 2


def test_a_full_disk_stops_the_run_with_one_error_line_and_keeps_the_finished_files(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    for index in range(4):
        write_gray_video(src / f"v{index}.mp4", 4, 48, 32)                   # short side 32: copied
    real_copy, copied = shutil.copy2, []

    def fills_up(source, target):
        if len(copied) == 2:
            Path(target).write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        copied.append(source)
        return real_copy(source, target)

    monkeypatch.setattr(shutil, "copy2", fills_up)
    capsys.readouterr()
    assert resize(src, tmp_path / "dst") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / 'dst'}: the disk is full"), err
    assert files(tmp_path / "dst") == {"v0.mp4", "v1.mp4", "resize_summary.json"}       # no partial file left


def test_a_different_setting_on_the_same_dst_is_one_error_line(ucf, capsys):
    src, dst, _ = ucf
    before = {name: (dst / name).stat().st_mtime_ns for name in files(dst)}
    capsys.readouterr()
    assert resize(src, dst, "--crf", "30") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --dst") and "--crf 23 there, 30 now" in err[0]
    assert {name: (dst / name).stat().st_mtime_ns for name in files(dst)} == before


def test_a_resized_tree_resized_again_does_not_copy_its_reports(ucf, tmp_path):
    _, dst, _ = ucf
    assert main(["--src", str(dst), "--dst", str(tmp_path / "again"), "--short_side", "16", "--no_progress"]) == 0
    summary = json.loads((tmp_path / "again" / "resize_summary.json").read_text())
    assert summary["settings"]["src"] == str(dst) and summary["reencoded"] == 21
    assert files(tmp_path / "again") == files(dst)
