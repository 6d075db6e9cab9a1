"""A full disk or a read-only folder under every entry point: one `error:` line naming the folder and its free
space, exit 2, no traceback; the files written before the fault are byte-identical afterwards; no partial or temp
file is left; a training run is marked failed (when its status can still be written).

The faults come from tests/core/disk_faults.py: ENOSPC at a chosen byte of a chosen file (the project's writer,
src/core/atomic.py, patched below the temp file), and a read-only folder that holds for root (an audit hook that
refuses every write under it with EROFS, as a read-only mount does; chmod does not stop root).
"""
import errno
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

import src.core.run_naming  # noqa: F401  (the run_tag resolver the header config uses)
from src.core.disk_errors import disk_error_line
from src.synthetic.match_video import render_match_video
from src.train import train
from tests.core.bad_input_helpers import one_error_line
from tests.core.disk_faults import fill_disk_at, read_only

REPO = Path(__file__).resolve().parents[2]
HEADER_RUN = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24",
              "dataset.input_size=32", "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=h",
              "logger=csv"]
# Files that change on purpose when a run fails: the failure is written into them (src/core/run_status.py), and the
# run's lock, held while it runs (src/core/run_lock.py).
MARKED = {"status.json", "config.json", "best_metrics.json", "run.json", ".lock"}


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".tmp")}


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]



def test_the_error_line_names_the_folder_its_free_space_and_what_to_do(tmp_path):
    def raised(err: OSError) -> BaseException:  # as Hydra / Lightning hand it on: wrapped in another error
        try:
            try:
                raise err
            except OSError as inner:
                raise RuntimeError("while saving") from inner
        except RuntimeError as outer:
            return outer

    missing = tmp_path / "run" / "eval"  # a folder that could not be made: its parent is named
    assert disk_error_line(raised(OSError(errno.EROFS, "Read-only file system", str(missing)))).startswith(
        f"{tmp_path / 'run'}: the file system is read-only (")
    quota = disk_error_line(raised(OSError(errno.EDQUOT, "Disk quota exceeded", str(tmp_path / "best.ckpt"))))
    assert quota.startswith(f"{tmp_path}: the disk quota is used up (") and " free); free some of your quota" in quota
    assert disk_error_line(OSError(errno.ENOSPC, "No space left")).startswith("a file could not be written: the disk")
    assert disk_error_line(OSError(errno.ENOENT, "No such file", str(tmp_path))) is None
    assert disk_error_line(ValueError("not a disk error")) is None


@pytest.fixture
def clip_run(synthetic_root, tiny_clip_run) -> list[str]:
    """2 epochs of the tiny CLIP run (4+ optimizer steps an epoch)."""
    return ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            "trainer.max_epochs=2", "~callbacks.early_stopping", "run_id=r"]


# (file, which write of it fails, overrides, the disk stays full afterwards)
CHECKPOINT_FAULTS = [
    ("best.ckpt", 2, ["callbacks.model_checkpoint.monitor=null"], False),  # saved every epoch: the 2nd is epoch 1
    ("last.ckpt", 3, ["callbacks.last_every_n_steps=1"], False),           # mid-epoch 0, at optimizer step 3
    ("last.ckpt", 3, ["callbacks.last_every_n_steps=1"], True),
]


@pytest.mark.parametrize("name, nth, extra, stays_full", CHECKPOINT_FAULTS,
                         ids=["best_ckpt", "last_ckpt_mid_epoch", "last_ckpt_disk_stays_full"])
def test_a_disk_that_fills_up_while_a_checkpoint_is_written(cli, tmp_path, monkeypatch, clip_run, name, nth, extra,
                                                            stays_full):
    run = tmp_path / "models/video_coop/ucf101/r"
    before: dict = {}
    fault = fill_disk_at(monkeypatch, name, nth=nth, after_bytes=4096, stays_full=stays_full,
                         on_fault=lambda target: before.update(_hashes(run)))
    result = cli([*clip_run, *extra], tmp_path)
    assert fault["hit"] == run / name
    line = one_error_line(result)
    assert line.startswith(f"error: {run}: the disk is full (") and " free); free some space there" in line
    assert name in before  # the previous checkpoint was there, and is still the same file:
    after = _hashes(run)
    kept = set(before) - MARKED - (set() if stays_full else {"logs/metrics.csv"})  # the log gets the last rows
    assert {k: after.get(k) for k in kept} == {k: before[k] for k in kept}
    assert not _temp_files(tmp_path)
    if stays_full:  # status.json cannot be written either: skipped, and nothing else changed
        assert after.keys() - {".lock"} == before.keys() - {".lock"} and not (run / "status.json").exists()
        assert all(after[k] == before[k] for k in after.keys() - {".lock"})
    else:
        status = json.loads((run / "status.json").read_text())
        assert status["status"] == "failed" and status["error"] == line


@pytest.fixture(scope="module")
def header_workspace(tmp_path_factory) -> Path:
    """A 1-epoch tiny header run (report/header_experiments/h), its data, and a 6 s match video."""
    root = tmp_path_factory.mktemp("disk_faults")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*HEADER_RUN, f"paths.root_dir={root}", f"paths.output_dir={root}/out"])
    train(cfg)
    render_match_video(root / "match.mp4", seed=5, duration_s=6, fps=10, size=32)
    return root


def _evaluate(cli, root: Path):
    val_csv = root / "data/synthetic/header/val.csv"
    return cli(["task=header", "run=h", f"dataset.val_csv={val_csv}", "trainer=cpu"], root, module="src.evaluate")


def test_a_disk_that_fills_up_during_an_evaluation_keeps_the_earlier_results(cli, header_workspace, monkeypatch):
    eval_dir = header_workspace / "report/header_experiments/h/eval"
    assert _evaluate(cli, header_workspace).returncode == 0
    before = _hashes(eval_dir)
    fault = fill_disk_at(monkeypatch, "val-8f.json", after_bytes=100)
    line = one_error_line(_evaluate(cli, header_workspace))
    assert fault["hit"] == eval_dir / "val-8f.json"
    assert line.startswith(f"error: {eval_dir}: the disk is full (")
    assert _hashes(eval_dir) == before and not _temp_files(header_workspace)


def _detect(cli, root: Path, out: str, *extra: str):
    return cli(["run=h", f"video={root / 'match.mp4'}", "progress=false", f"output_dir={root / out}",
                "detect.batch_size=8", *extra], root, module="src.detect")


def test_a_disk_that_fills_up_during_a_detection_leaves_whole_rows_and_resumes(cli, header_workspace, monkeypatch):
    assert _detect(cli, header_workspace, "reference").returncode == 0
    reference = pd.read_csv(header_workspace / "reference/match/windows.csv")
    out = header_workspace / "cut/match"
    # windows.csv: the header line (write 1), then one append per batch of 8 windows: the 2nd append fails
    # 10 bytes in, which would leave a torn row.
    fault = fill_disk_at(monkeypatch, "windows.csv", nth=3, after_bytes=10)
    line = one_error_line(_detect(cli, header_workspace, "cut"))
    assert fault["hit"] == out / "windows.csv"
    assert line.startswith(f"error: {out}: the disk is full (")
    text = (out / "windows.csv").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1 + 8  # the header and the 1st batch, whole
    assert not _temp_files(header_workspace)
    monkeypatch.undo()  # space again: the resume finishes the same windows as the uninterrupted run
    assert _detect(cli, header_workspace, "cut", "resume=true").returncode == 0
    resumed = pd.read_csv(out / "windows.csv")
    assert resumed["start_frame"].tolist() == reference["start_frame"].tolist()
    assert resumed["prob_header"].tolist() == pytest.approx(reference["prob_header"].tolist(), abs=1e-6)


# (entry point, its arguments with {root} / {ro} (the read-only folder), where the error must point)
READ_ONLY_CASES = [
    ("src.train", [*HEADER_RUN, "paths.report_dir={ro}/report"], "{ro}"),
    ("src.evaluate", ["task=header", "run=h", "dataset.val_csv={root}/data/synthetic/header/val.csv", "trainer=cpu"],
     "{run}"),
    ("src.predict", ["run=h", "inputs={root}/match.mp4", "output={ro}/predictions", "progress=false"], "{ro}"),
    ("src.detect", ["run=h", "video={root}/match.mp4", "output_dir={ro}/detections", "progress=false"], "{ro}"),
    ("data_tools.check_dataset", ["task=header", "dataset.train_csv={root}/data/synthetic/header/train.csv",
                                  "dataset.val_csv={root}/data/synthetic/header/val.csv", "dataset.num_frames=8",
                                  "check.output={ro}/check"], "{ro}"),
]


@pytest.mark.parametrize("module, args, where", READ_ONLY_CASES, ids=[c[0] for c in READ_ONLY_CASES])
def test_a_read_only_output_folder_is_one_error_line(cli, header_workspace, tmp_path, module, args, where):
    run = header_workspace / "report/header_experiments/h"
    places = {"root": header_workspace, "ro": tmp_path / "ro", "run": run}
    folder = Path(where.format(**places))
    before = _hashes(run)
    with read_only(folder):
        result = cli([a.format(**places) for a in args], header_workspace, module=module)
    line = one_error_line(result)
    assert str(folder) in line and "read-only" in line.lower(), line
    assert _hashes(run) == before and not _temp_files(header_workspace)
    assert not list((tmp_path / "ro").rglob("*"))


def test_a_read_only_feature_cache_is_one_error_line(cli, synthetic_root, tiny_clip_run, tmp_path):
    args = ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            f"paths.cache_dir={tmp_path}/ro/cache"]
    with read_only(tmp_path / "ro"):
        result = cli(args, tmp_path, module="data_tools.cache_features")
    line = one_error_line(result)
    assert line.startswith(f"error: {tmp_path / 'ro'}: the file system is read-only (")
    assert not list((tmp_path / "ro").rglob("*"))
