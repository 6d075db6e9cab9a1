"""The decoded-frame store from the command line, in-process: `dataset.frame_store=read` refuses a missing store
with one line before anything is written, data_tools/cache_frames.py fills it once (a second run writes nothing),
the dataset checker reports it, training reads it, and src.evaluate reads from it (auto, read) — a run's own config.json, even one
from before these keys, does not decide how frames are read."""
import ast
import json
from pathlib import Path

import pytest

from tests.core.bad_input_helpers import one_error_line

TOOL = "data_tools.cache_frames"


def clip_args(synthetic_root: Path, tiny_clip_run) -> list[str]:
    return ["method=dual_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run]


def entry_times(tmp_path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (tmp_path / "cache" / "frames").rglob("*.frames")}


def tool_stats(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("frame store: "))
    return ast.literal_eval(line.removeprefix("frame store: ").split(" -> ")[0])


def test_read_mode_refuses_a_missing_store_with_one_line_and_writes_nothing(cli, synthetic_root, tmp_path):
    result = cli(["experiment=demo", f"dataset.root={synthetic_root}", "dataset.frame_store=read"], tmp_path)
    line = one_error_line(result, "dataset.frame_store=read: 56 of 56 videos (train ", "have no entry in",
                          "data_tools/cache_frames.py", "dataset.frame_store=auto")
    assert str(tmp_path / "cache" / "frames") in line
    assert sorted(tmp_path.iterdir()) == []                                     # no run, no Hydra folder, no store


@pytest.mark.parametrize(("override", "words"), [
    ("dataset.frame_store=sometimes", "dataset.frame_store='sometimes': must be off | auto | write | read"),
    ("dataset.frame_store_quality=0", "dataset.frame_store_quality=0: must be an integer from 1 to 100"),
    ("dataset.decode_resize=maybe", "dataset.decode_resize='maybe': must be true or false"),
])
def test_bad_store_settings_are_one_line(cli, synthetic_root, tmp_path, override, words):
    one_error_line(cli(["experiment=demo", f"dataset.root={synthetic_root}", override], tmp_path), words)
    assert sorted(tmp_path.iterdir()) == []


def test_the_tool_fills_the_store_once_and_the_checker_reports_it(cli, synthetic_root, tiny_clip_run, tmp_path):
    from src.clip.data.check import check_clip_dataset
    from tests.composed import compose_config

    args = [*clip_args(synthetic_root, tiny_clip_run), "dataset.num_workers=2"]
    dataset = dict(compose_config([*args, "dataset.frame_store=read"], tmp_path).dataset)
    check = {"decode": "none", "min_videos_per_class": 1, "max_listed": 5}
    before = check_clip_dataset(dataset, check)
    assert [p.kind for p in before.problems] == ["not_in_frame_store"] and len(before.problems[0].items) == 5
    assert before.facts["frame_store"]["not_stored"] == 56 and not (tmp_path / "cache").exists()
    first = cli(args, tmp_path, module=TOOL)
    assert first.returncode == 0, first.stderr[-3000:]
    assert tool_stats(first.stdout) == {"videos": 56, "share": 56, "already_stored": 0, "written": 56, "unreadable": 0}
    written = entry_times(tmp_path)
    assert len(written) == 56
    again = cli([*args, "dataset.frame_store=read"], tmp_path, module=TOOL)
    assert again.returncode == 0 and tool_stats(again.stdout)["written"] == 0
    assert entry_times(tmp_path) == written                                     # resumable: nothing rewritten
    after = check_clip_dataset(dataset, check)
    assert after.problems == [] and after.facts["frame_store"]["stored"] == 56
    trained = cli([*args, "dataset.frame_store=read", "trainer.max_epochs=1", "run_id=r"], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    results = json.loads((tmp_path / "models/dual_coop/ucf101/r/test_results.json").read_text())
    assert results["num_videos"] == 14 and results["data"]["frames_from"].startswith("frame store, short side 256")
    assert entry_times(tmp_path) == written


def test_evaluation_reads_frames_from_the_store(cli, synthetic_root, tiny_clip_run, tmp_path):
    trained = cli([*clip_args(synthetic_root, tiny_clip_run), "trainer.max_epochs=1", "run_id=r"], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = tmp_path / "models/dual_coop/ucf101/r"
    config = json.loads((run / "config.json").read_text())
    for key in ("frame_store", "frame_store_dir", "frame_store_short_side", "frame_store_quality", "decode_resize"):
        del config["dataset"][key]                                              # a run from before these keys
    (run / "config.json").write_text(json.dumps(config))
    results = run / "eval/ucf101-split1-test-1x1views-4f.json"
    evaluate = ["run=dual_coop/ucf101/r", *tiny_clip_run]
    refused = cli([*evaluate, "dataset.frame_store=read"], tmp_path, module="src.evaluate")
    one_error_line(refused, "dataset.frame_store=read: ", "have no entry")
    assert not results.exists()
    auto = cli([*evaluate, "dataset.frame_store=auto"], tmp_path, module="src.evaluate")
    assert auto.returncode == 0, auto.stderr[-3000:]
    from_auto = json.loads(results.read_text())
    assert from_auto["num_videos"] == 14 and len(entry_times(tmp_path)) == 14   # auto: what the pass read
    read = cli([*evaluate, "dataset.frame_store=read"], tmp_path, module="src.evaluate")
    assert read.returncode == 0, read.stderr[-3000:]
    from_read = json.loads(results.read_text())
    assert from_read["confusion_matrix"] == from_auto["confusion_matrix"]
    assert from_read["loss"] == pytest.approx(from_auto["loss"], abs=1e-6)


def test_the_tool_refuses_task_header_with_one_line(cli, tiny_header_run, tmp_path):
    result = cli([*tiny_header_run, "backbone=csn_tiny", "dataset=header_synthetic"], tmp_path, module=TOOL)
    one_error_line(result, "task=header has no cache_frames tool")
    assert sorted(tmp_path.iterdir()) == []
