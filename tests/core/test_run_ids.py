"""Run folders are never overwritten or shared (src/core/run_ids.py, run_claim.py, run_lock.py through src.train):
a bad run id is one error line with nothing created; a folder that holds a run is refused and left byte-identical
unless the run resumes it; a second run of a folder in use is refused by its `.lock`, a stale lock is taken over,
and the lock is gone when the run ends, however it ends."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from pytorch_lightning.utilities import rank_zero_only

import src.core.run_claim
import src.train
from src.core.errors import UserError
from src.core.run_claim import claimed_run_folder
from src.core.run_lock import RunLock, pid_running
from src.train import train
from tests.composed import compose_config
from tests.core.bad_input_helpers import one_error_line

CLIP = ["method=video_coop", "dataset=ucf101", "trainer.max_epochs=1"]   # + the tiny_clip_run fixture's settings
HEADER = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
          "dataset.synthetic.size=32", "~callbacks.progress_bar", "logger=csv"]


@pytest.fixture(scope="module")
def done(tmp_path_factory, synthetic_root, tiny_clip_run) -> dict:
    """A finished tiny clip run (run_id=done) and header run (run_name=done) under one root (in-process)."""
    root = tmp_path_factory.mktemp("run_ids")
    threads = torch.get_num_threads()
    clip = [*CLIP, *tiny_clip_run, f"dataset.root={synthetic_root}"]
    train(compose_config([*clip, "run_id=done"], root))
    train(compose_config([*HEADER, "run_name=done"], root))
    torch.set_num_threads(threads)
    return {"root": root, "clip": root / "models/video_coop/ucf101/done", "header": root / "report/header_experiments/done",
            "clip_args": clip,
            "header_args": [*HEADER, f"dataset.root={root}/data/synthetic/header"]}


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}



BAD_IDS = [
    ("empty", "run_id=", "run_id='': empty"),
    ("null", "run_id=null", "run_id=null: empty"),
    ("slash", "run_id=a/b", "run_id='a/b': a path separator"),
    ("backslash", "run_id=a\\b", "run_id='a\\\\b': a path separator"),
    ("dot", "run_id=.", "run_id='.'"),
    ("dotdot", "run_id=..", "run_id='..'"),
    ("hidden", "run_id=.x", "run_id='.x'"),
    ("tab", "run_id=a\tb", "cannot be printed"),
    ("too_long", "run_id=" + "x" * 256, "256 bytes long"),
    ("list", "run_id=[a,b]", "run_id=['a', 'b']: a run id is a folder name, not a list"),
    ("run_name_parent", "run_name=../x", "run_name='../x'"),
]


@pytest.mark.parametrize("name, override, words", BAD_IDS, ids=[b[0] for b in BAD_IDS])
@pytest.mark.parametrize("task", ["clip", "header"])
def test_a_bad_run_id_is_one_line_and_creates_nothing(done, cli, tmp_path, task, name, override, words):
    result = cli([*done[f"{task}_args"], override], tmp_path)
    one_error_line(result, words, "give one folder name")
    assert not (tmp_path / "models").exists() and not (tmp_path / "report").exists()


@pytest.mark.parametrize("task", ["clip", "header"])
def test_a_folder_that_holds_a_run_is_refused_and_left_as_it_was(done, cli, task):
    run = done[task]
    before = _snapshot(run)
    key = "run_id" if task == "clip" else "run_name"
    result = cli([*done[f"{task}_args"], f"{key}=done"], done["root"])
    one_error_line(result, "run_id=done", f"{run} already holds a run", "pick another run_id",
              f"resume it with ckpt_path={run / 'last.ckpt'}")
    assert _snapshot(run) == before and not (run / ".lock").exists()


def test_resume_of_its_own_folder_still_works(done, cli, tmp_path):
    run = done["root"] / "models/video_coop/ucf101/resumed"
    shutil.copytree(done["clip"], run)
    result = cli([*done["clip_args"], f"ckpt_path={run / 'last.ckpt'}", "trainer.max_epochs=2"], done["root"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["epoch"] for r in json.loads((run / "training_log.json").read_text())] == [0, 1]
    assert not (run / ".lock").exists()


def _write_lock(folder: Path, pid: int, host: str | None = None) -> Path:
    folder.mkdir(parents=True)
    lock = folder / ".lock"
    lock.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "started": "2026-01-01T00:00:00"}))
    return lock


def test_a_held_lock_refuses_a_second_run(done, cli, tmp_path):
    lock = _write_lock(tmp_path / "models/video_coop/ucf101/held", os.getpid())  # this process: alive
    before = lock.read_bytes()
    result = cli([*done["clip_args"], "run_id=held"], tmp_path)
    one_error_line(result, "run_id=held", "is in use by another run", f"pid {os.getpid()} on {socket.gethostname()}",
              "started 2026-01-01T00:00:00")
    assert lock.read_bytes() == before and [p.name for p in lock.parent.iterdir()] == [".lock"]


def test_a_lock_from_another_machine_is_refused_with_the_file_to_delete(done, cli, tmp_path):
    lock = _write_lock(tmp_path / "models/video_coop/ucf101/remote", 1, host="elsewhere.invalid")
    result = cli([*done["clip_args"], "run_id=remote"], tmp_path)
    one_error_line(result, "run on another machine", "elsewhere.invalid", f"delete {lock}")
    assert lock.is_file()


def test_a_stale_lock_is_taken_over_and_the_run_trains(done, cli, tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: its pid no longer runs
    pid = child.pid
    assert not pid_running(pid)
    lock = _write_lock(tmp_path / "models/video_coop/ucf101/stale", pid)
    result = cli([*done["clip_args"], "run_id=stale"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr + "".join(p.read_text() for p in (tmp_path / "outputs").rglob("*.log"))
    assert f"(pid {pid} on {socket.gethostname()}" in log and "taking the lock over" in log
    assert (lock.parent / "checkpoint.pth").is_file() and not lock.exists()


def test_the_lock_is_gone_after_a_failed_run_and_an_empty_folder_too(done, cli, tmp_path, monkeypatch):
    # A failure inside the run (after it wrote something): the folder stays, the lock goes.
    def fail(cfg, ckpt):
        (Path(cfg.run_dir) / "partial.txt").write_text("half done")
        raise RuntimeError("the run broke")

    monkeypatch.setattr(src.train, "build_and_fit", fail)
    with pytest.raises(RuntimeError, match="the run broke"):  # a crash is not bad input: its traceback stays
        cli([*done["clip_args"], "run_id=broken"], tmp_path)
    run = tmp_path / "models/video_coop/ucf101/broken"
    assert (run / "partial.txt").is_file() and not (run / ".lock").exists()
    monkeypatch.undo()
    # Bad input found while building (no such dataset): nothing is left, not even the folders the claim made.
    result = cli([*done["clip_args"], f"dataset.root={tmp_path}/no_such_data", "run_id=nodata"], tmp_path)
    one_error_line(result, "no_such_data")
    assert not (tmp_path / "models/video_coop/ucf101/nodata").exists()


def _cfg(run_dir: Path, ckpt_path=None):
    return OmegaConf.create({"run_dir": str(run_dir), "run_id": run_dir.name, "ckpt_path": ckpt_path})


def test_a_claim_ends_with_its_lock_on_ctrl_c_and_ranks_above_zero_claim_nothing(done, tmp_path, monkeypatch):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), claimed_run_folder(_cfg(run)):
        assert (run / ".lock").is_file()
        (run / "status.json").write_text("{}")
        raise KeyboardInterrupt
    assert not (run / ".lock").exists() and (run / "status.json").is_file()
    monkeypatch.setattr(rank_zero_only, "rank", 1)  # a DDP rank > 0 joins rank zero's folder, which holds a run
    with claimed_run_folder(_cfg(done["clip"])):
        assert not (done["clip"] / ".lock").exists()


def test_a_lock_is_removed_only_by_its_holder(tmp_path):
    first = RunLock(tmp_path, "run_id=x")
    first.acquire()
    second = RunLock(tmp_path, "run_id=x")
    with pytest.raises(UserError, match="run_id=x: .* is in use by another run"):
        second.acquire()
    second.release()  # not its lock: stays
    assert (tmp_path / ".lock").is_file()
    first.release()
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("{half written")
    with pytest.raises(UserError, match="exists but cannot be read; if no run is using"):
        RunLock(tmp_path, "run_id=x").acquire()


def test_a_sweep_gets_a_folder_per_job_and_a_fixed_run_id_is_refused_before_it_starts(done, cli, tmp_path,
                                                                                      monkeypatch):
    fast = [*done["clip_args"], "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "task.test_after_fit=false"]
    result = cli(["-m", *fast, "method.ctx_len=4,8"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    folders = sorted(p.name for p in (tmp_path / "models/video_coop/ucf101").iterdir())
    assert len(folders) == 2 and folders[0].endswith("-j0") and folders[1].endswith("-j1")
    for fixed in ("run_id=fixed", "run_name=fixed"):
        result = cli(["-m", *fast, "method.ctx_len=4,8", fixed], tmp_path / "fixed")
        one_error_line(result, f"{fixed}: every job of this sweep would write into that one folder", "unset in a sweep")
        assert not (tmp_path / "fixed/models").exists()
    # A sweep the command line does not show (sweeper params in a config file) stops at its second job, saying why.
    monkeypatch.setattr(src.core.run_claim, "_in_a_sweep", lambda: True)
    with pytest.raises(UserError, match="already holds a run .*in a sweep, leave run_id unset"):
        src.core.run_claim.refuse_a_run_folder(done["clip"], "run_id=done")
