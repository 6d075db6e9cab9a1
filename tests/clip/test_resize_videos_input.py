"""`python -m data_tools.resize_videos` on bad input: one `error:` line naming the option, exit 2, nothing written
anywhere (the workspace is byte-identical, no --dst made). And its defaults: conf/resize_videos.yaml, every key
commented, every key an option."""
import re

import pytest
import yaml

from data_tools.resize_videos import _parser, main
from src.core.cli_checks import CONF_DIR
from tests.clip.video_helpers import write_gray_video
from tests.core.bad_input_helpers import snapshot

SRC, DST = ["--src", "{root}/src"], ["--dst", "{root}/new_dst"]
CASES = [
    ("src_missing", [*DST], "the following arguments are required: --src"),
    ("src_not_there", ["--src", "{root}/nope", *DST], "--src {root}/nope: no such folder"),
    ("src_a_file", ["--src", "{root}/src/a/clip.mp4", *DST], "no such folder"),
    ("src_no_videos", ["--src", "{root}/src/lists", *DST], "no videos (.mp4, .avi"),
    ("dst_missing", [*SRC], "the following arguments are required: --dst"),
    ("dst_is_src", [*SRC, "--dst", "{root}/src"], "--dst {root}/src: is inside --src"),
    ("dst_inside_src", [*SRC, "--dst", "{root}/src/resized"], "--dst {root}/src/resized: is inside --src"),
    ("dst_a_file", [*SRC, "--dst", "{root}/a_file"], "a_file is a file, not a folder"),
    ("dst_foreign", [*SRC, "--dst", "{root}/other"], "is not empty and holds no resize_summary.json"),
    ("short_side_0", [*SRC, *DST, "--short_side", "0"], "--short_side 0: must be an integer >= 2"),
    ("short_side_negative", [*SRC, *DST, "--short_side", "-320"], "--short_side -320: must be an integer >= 2"),
    ("short_side_odd", [*SRC, *DST, "--short_side", "33"], "--short_side 33: must be even"),
    ("short_side_text", [*SRC, *DST, "--short_side", "big"], "argument --short_side: invalid int value: 'big'"),
    ("codec_unknown", [*SRC, *DST, "--codec", "h265"], "--codec h265: unknown; choose one of h264, mpeg4"),
    ("crf_60", [*SRC, *DST, "--crf", "60"], "--crf 60: must be an integer in 0..51"),
    ("preset_unknown", [*SRC, *DST, "--preset", "quick"], "--preset quick: unknown"),
    ("fps_0", [*SRC, *DST, "--fps", "0"], "--fps 0.0: must be a number > 0, or null"),
    ("fps_text", [*SRC, *DST, "--fps", "fast"], "argument --fps: 'fast' is not a number or null"),
    ("quantiser_1", [*SRC, *DST, "--mpeg4_quantiser", "1"], "--mpeg4_quantiser 1: must be an integer in 2..31"),
    ("interpolation_unknown", [*SRC, *DST, "--interpolation", "smooth"], "--interpolation smooth: unknown"),
    ("workers_0", [*SRC, *DST, "--workers", "0"], "argument --workers: 0: must be an integer >= 1"),
    ("unknown_option", [*SRC, *DST, "--height", "320"], "unrecognized arguments: --height 320"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A one-video tree, a lists-only folder, a file and a foreign non-empty folder."""
    root = tmp_path_factory.mktemp("resize_input")
    (root / "src" / "a").mkdir(parents=True)
    write_gray_video(root / "src" / "a" / "clip.mp4", 4, 96, 64)
    (root / "src" / "lists").mkdir()
    (root / "src" / "lists" / "train.txt").write_text("a/clip.mp4 0\n")
    (root / "a_file").write_text("not a folder\n")
    (root / "other").mkdir()
    (root / "other" / "mine.txt").write_text("someone's data\n")
    return root


@pytest.mark.parametrize("name, argv, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_writes_nothing(workspace, capsys, name, argv, words):
    before = snapshot(workspace)
    capsys.readouterr()
    code = main([arg.format(root=workspace) for arg in argv] + ["--no_progress"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert words.format(root=workspace) in lines[0] and captured.out == ""
    assert snapshot(workspace) == before


def test_every_default_is_in_the_config_with_a_comment_and_is_an_option():
    path = CONF_DIR / "resize_videos.yaml"
    config = yaml.safe_load(path.read_text())
    keys = [line for line in path.read_text().splitlines() if re.match(r"^[a-z_0-9]+:", line)]
    assert len(keys) == len(config) and all("#" in line for line in keys)
    args = vars(_parser().parse_args(["--src", "s", "--dst", "d"]))
    assert {key: args[key] for key in config} == config
    assert {"short_side": 320, "fps": None, "codec": "h264", "crf": 23}.items() <= config.items()
