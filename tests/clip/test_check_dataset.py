"""data_tools/check_dataset.py on task=clip: a clean synthetic set exits 0; planted problems (a missing file, a
corrupt video, a 2-frame video, a class with 1 video, a path in two splits) are each reported, exit 2."""
import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from src.clip.data.probe import probe_video
from src.synthetic.video_encoding import encode_video

MODULE = "data_tools.check_dataset"
LISTS = "ucfTrainTestlist"


def linked_copy(source: Path, target: Path) -> Path:
    """A copy whose files are hard links: replace a file (unlink, write), never write into one."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def replace_file(path: Path, data: bytes | None = None, text: str | None = None) -> None:
    path.unlink()
    path.write_bytes(data) if data is not None else path.write_text(text)


def report_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "outputs" / "run" / "dataset_report.json").read_text())


def findings(report: dict) -> dict[str, list]:
    return {f["kind"]: f["items"] for f in report["problems"]}


def test_clean_set_exits_0_with_the_facts(synthetic_root, cli, tmp_path):
    result = cli(["dataset=ucf101", f"dataset.root={synthetic_root}", "dataset.num_workers=1"], tmp_path,
                 module=MODULE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    report = report_of(tmp_path)
    assert report["ok"] and report["problems"] == [] and report["num_classes"] == 7
    assert report["videos_per_split"] == {"train": 42, "test": 14}          # 4 groups x 2 clips, 1 group tests
    assert report["videos_per_class"]["train"] == {"min": 6, "median": 6, "max": 6, "count": 7}
    props = report["video_properties"]
    assert props["videos_probed"] == 56 and props["resolution"] == {"40x32": 56}
    assert set(props["codec"]) <= {"mpeg4", "h264"} and sum(props["codec"].values()) == 56
    assert props["frames"]["min"] == props["frames"]["max"] == 16 and props["fps"] == {"25.0": 56}
    assert str(synthetic_root) in report["layout"] and "clean" in result.stdout


@pytest.fixture
def planted(synthetic_root, tmp_path) -> tuple[Path, dict]:
    root = linked_copy(synthetic_root, tmp_path / "ucf")
    train_list = root / LISTS / "trainlist01.txt"
    lines = train_list.read_text().splitlines()
    paths = [line.split()[0] for line in lines]
    missing, corrupt, two_frames = paths[0], paths[1], paths[2]
    (root / missing).unlink()
    replace_file(root / corrupt, data=b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (root / two_frames).unlink()
    encode_video((root / two_frames).with_suffix(".mp4"), np.zeros((2, 32, 40, 3), np.uint8))
    os.replace((root / two_frames).with_suffix(".mp4"), root / two_frames)
    lonely = "Shrinking"                                          # keep one train video of this class
    kept = [line for line in lines if not line.startswith(f"{lonely}/")]
    kept.append(next(line for line in lines if line.startswith(f"{lonely}/")))
    replace_file(train_list, text="\r\n".join(kept) + "\r\n")
    test_list = root / LISTS / "testlist01.txt"
    duplicate = paths[4]                                          # a train video that stays listed
    replace_file(test_list, text=test_list.read_text() + duplicate + "\n")
    return root, {"missing": missing, "corrupt": corrupt, "two_frames": two_frames, "lonely": lonely,
                  "duplicate": duplicate}


def test_planted_problems_are_each_reported_and_exit_2(planted, cli, tmp_path):
    root, plants = planted
    result = cli(["dataset=ucf101", f"dataset.root={root}", "dataset.num_workers=2"], tmp_path, module=MODULE)
    assert result.returncode == 2
    found = findings(report_of(tmp_path))
    assert set(found) == {"missing_files", "undecodable_videos", "short_videos", "classes_with_few_videos",
                          "duplicate_paths_across_splits"}
    assert [Path(item["path"]) for item in found["missing_files"]] == [root / plants["missing"]]
    assert found["missing_files"][0]["where"].endswith("trainlist01.txt:1")
    assert [Path(item["path"]) for item in found["undecodable_videos"]] == [root / plants["corrupt"]]
    assert found["undecodable_videos"][0]["reason"]
    assert found["short_videos"] == [{"path": str(root / plants["two_frames"]), "frames": 2}]
    assert found["classes_with_few_videos"] == [{"class": plants["lonely"], "train_videos": 1}]
    assert found["duplicate_paths_across_splits"] == [
        {"path": str((root / plants["duplicate"]).resolve()), "splits": ["train", "test"]}]
    for kind in found:
        assert kind in result.stdout                               # printed too


def faststart_mp4(path: Path, num_frames: int) -> Path:
    """Noise frames in an .mp4 whose index (moov) comes first: cut short, it still opens and claims every frame."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(num_frames):
            noise = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)            # (H, W, 3)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(noise, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_decode_all_finds_a_truncated_video_that_first_and_none_pass(tmp_path):
    whole = faststart_mp4(tmp_path / "whole.mp4", 40)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    assert probe_video(whole, "all")["ok"]
    for mode in ("none", "first"):
        verdict = probe_video(cut, mode)
        assert verdict["ok"] and verdict["frames"] == 40 and verdict["codec"] == "mpeg4", (mode, verdict)
    verdict = probe_video(cut, "all")
    assert not verdict["ok"] and verdict["reason"].startswith("truncated: ") and "of 40 frames" in verdict["reason"]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert probe_video(empty, "first")["reason"] == "empty file (0 bytes)"


def test_unlistable_dataset_and_bad_decode_mode_are_one_error_line(tmp_path, cli, synthetic_root):
    result = cli(["dataset=ucf101", f"dataset.root={tmp_path / 'nowhere'}"], tmp_path, module=MODULE)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: dataset root ")
    result = cli(["dataset=ucf101", f"dataset.root={synthetic_root}", "check.decode=some"], tmp_path, module=MODULE)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: check.decode")
