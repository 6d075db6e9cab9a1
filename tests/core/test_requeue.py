"""SLURM requeue (src/core/slurm_requeue.py) and ckpt_path=auto (src/core/auto_resume.py): a fit stopped by SIGUSR1
or SIGTERM under SLURM writes last.ckpt at that step, requeues its job (a stub scontrol on PATH records the call) and
exits 128 + the signal; the same command again (ckpt_path=auto) resumes and ends with the files of the uninterrupted
run (bitwise on CPU); once more, the finished run is refused. In-process, as the SIGINT test of test_interrupt.py."""
import json
import os
import signal
import stat
from pathlib import Path

import pytest
import torch

from src.core.slurm_requeue import lightning_slurm_environment, requeue_signals_for, requeue_this_job
from tests.core.resumed_runs import KILL, assert_same, clip_files, header_files, steps_per_epoch
from tests.header.clip_sets import train_val_csvs

JOB = "4242"


@pytest.fixture
def slurm_job(monkeypatch, tmp_path) -> Path:
    """SLURM_JOB_ID set and a stub `scontrol` first on PATH; -> the file where it records each call's arguments."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "scontrol_calls.txt"
    bin_dir.mkdir()
    stub = bin_dir / "scontrol"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", JOB)
    return calls


def _stopped_and_resumed(cli, root: Path, command: list[str], signal_name: str, at: int, runs: Path,
                         calls: Path) -> Path:
    """Run `command` + ckpt_path=auto stopped by `signal_name` at step `at` (requeued), then the same command
    (resumed), then once more (refused); -> the one run folder made under `runs`."""
    auto = [*command, "ckpt_path=auto"]
    cut = cli([*auto, KILL, f"+callbacks.kill.at_step={at}", f"+callbacks.kill.signal_name={signal_name}"], root)
    signum = signal.Signals[signal_name]
    assert cut.returncode == 128 + signum, cut.stderr[-3000:]
    (run,) = runs.iterdir()
    assert f"interrupted by {signal_name} at step {at}: {run / 'last.ckpt'} written" in cut.stderr
    assert f"SLURM job {JOB} requeued" in cut.stderr and "Traceback" not in cut.stderr
    assert calls.read_text().splitlines() == [f"requeue {JOB}"]
    assert torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == at
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"

    resumed = cli(auto, root)  # what the requeued job runs: the same command, the same SLURM job id
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert calls.read_text().splitlines() == [f"requeue {JOB}"]  # no second requeue

    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    again = cli(auto, root)  # a finished run: refused in one line, nothing touched
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.strip().splitlines() == [f"error: ckpt_path=auto: {run} is a finished run (status.json); "
                                                 f"nothing to resume: pick another run_id, or train it on with "
                                                 f"ckpt_path={run / 'last.ckpt'} and a larger trainer.max_epochs"]
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == stamps
    assert [p.name for p in runs.iterdir()] == [run.name]
    return run


def test_clip_run_on_sigusr1_requeues_and_resumes_exactly_with_ckpt_path_auto(cli, monkeypatch, tmp_path, slurm_job,
                                                                              synthetic_root, tiny_clip_run):
    base = ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            "trainer.max_epochs=2", "~callbacks.early_stopping", "trainer.cpu_threads=1"]
    with monkeypatch.context() as outside_slurm:
        outside_slurm.delenv("SLURM_JOB_ID")
        assert cli([*base, "run_id=ref"], tmp_path / "ref").returncode == 0
    reference = tmp_path / "ref/models/video_coop/ucf101/ref"
    steps = steps_per_epoch(reference)
    assert steps >= 2
    # No run_id: under SLURM the default run id holds the job id, so the requeued job finds the same folder.
    run = _stopped_and_resumed(cli, tmp_path / "cut", base, "SIGUSR1", steps + steps // 2,
                               tmp_path / "cut/models/video_coop/ucf101", slurm_job)
    assert run.name.endswith(f"-slurm{JOB}")
    assert_same(clip_files(reference), clip_files(run))


def test_header_run_on_sigterm_requeues_and_resumes_exactly_with_ckpt_path_auto(cli, monkeypatch, tmp_path,
                                                                                slurm_job, tiny_header_run):
    train, val = train_val_csvs(tmp_path / "clips")
    base = [*tiny_header_run, "backbone=csn_tiny", f"dataset.train_csv={train}", f"dataset.val_csv={val}",
            "trainer.cpu_threads=1", "callbacks.requeue_on_sigterm=true"]  # a cluster that preempts with SIGTERM
    assert cli([*base, "run_name=ref"], tmp_path / "ref").returncode == 0
    reference = tmp_path / "ref/report/header_experiments/ref"
    steps = torch.load(reference / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] // 2
    assert steps >= 2
    run = _stopped_and_resumed(cli, tmp_path / "cut", [*base, "run_name=r"], "SIGTERM", steps + 1,
                               tmp_path / "cut/report/header_experiments", slurm_job)
    assert run.name == "r"
    assert_same(header_files(reference), header_files(run))


def test_ckpt_path_auto_starts_fresh_without_last_ckpt_and_bad_values_are_one_line(cli, tmp_path, synthetic_root,
                                                                                    tiny_clip_run):
    base = ["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
            "trainer.max_epochs=1", "trainer.limit_train_batches=2", "~callbacks.early_stopping"]
    run = tmp_path / "models/video_coop/ucf101/r"
    fresh = cli([*base, "run_id=r", "ckpt_path=auto"], tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    for value, words in (("3", "ckpt_path=3: not a file path"), ("autox", "ckpt_path=autox: no such file")):
        bad = cli([*base, "run_id=other", f"ckpt_path={value}"], tmp_path)
        assert bad.returncode == 2 and bad.stdout == ""
        (line,) = bad.stderr.strip().splitlines()
        assert line.startswith(f"error: {words}") and line.endswith("or auto"), line
    bad = cli([*base, "run_id=other", "callbacks.requeue_on_sigterm=sometimes"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: callbacks.requeue_on_sigterm='sometimes': must be true or false"]
    assert not (tmp_path / "models/video_coop/ucf101/other").exists()


def test_requeue_only_under_slurm_for_its_signals_and_a_failed_requeue_says_so(monkeypatch, tmp_path, slurm_job):
    default, with_sigterm = requeue_signals_for(False), requeue_signals_for(True)
    assert default == (signal.SIGUSR1,) and set(with_sigterm) == {signal.SIGUSR1, signal.SIGTERM}
    assert requeue_this_job(signal.SIGINT, with_sigterm) == ""  # Ctrl-C is a person: never requeued
    assert requeue_this_job(signal.SIGTERM, default) == ""  # scancel sends SIGTERM: a cancelled job stays cancelled
    assert not slurm_job.exists()
    assert requeue_this_job(signal.SIGTERM, with_sigterm) == f"; SLURM job {JOB} requeued: it resumes from there with " \
                                                             "ckpt_path=auto"
    assert slurm_job.read_text().splitlines() == [f"requeue {JOB}"]
    (tmp_path / "bin/scontrol").write_text("#!/bin/sh\necho 'Requested operation is presently disabled' >&2\nexit 1\n")
    assert requeue_this_job(signal.SIGUSR1, default) == (f"; SLURM job {JOB} NOT requeued (Requested operation is "
                                                         "presently disabled): resubmit it with ckpt_path=auto")
    monkeypatch.delenv("SLURM_JOB_ID")
    assert requeue_this_job(signal.SIGUSR1, default) == ""  # not under SLURM


def test_under_slurm_lightning_keeps_its_environment_without_its_own_requeue(monkeypatch):
    for name in ("SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_JOB_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert lightning_slurm_environment() == []  # not SLURM: Lightning picks its environment as always
    monkeypatch.setenv("SLURM_NTASKS", "8")
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", "4")
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    (environment,) = lightning_slurm_environment()
    assert environment.auto_requeue is False  # no hpc_ckpt_<n>.ckpt, no second requeue beside ours
    monkeypatch.setenv("SLURM_JOB_NAME", "interactive")  # salloc + a shell: Lightning does not treat it as SLURM
    assert lightning_slurm_environment() == []


def test_ckpt_path_auto_says_which_it_does_and_refuses_a_finished_run(tmp_path):
    """The line src.train logs (unit-level: what reaches an in-process log depends on earlier tests' logging)."""
    from omegaconf import OmegaConf

    from src.core.auto_resume import resolve_auto_resume
    from src.core.errors import UserError

    run = tmp_path / "r"
    run.mkdir()
    fresh = OmegaConf.create({"run_dir": str(run), "ckpt_path": "auto"})
    assert resolve_auto_resume(fresh) == f"ckpt_path=auto: no last.ckpt in {run}: starting a fresh run"
    assert fresh.ckpt_path is None
    (run / "last.ckpt").write_bytes(b"weights")
    (run / "status.json").write_text(json.dumps({"status": "interrupted"}))
    cut = OmegaConf.create({"run_dir": str(run), "ckpt_path": "auto"})
    assert resolve_auto_resume(cut) == f"ckpt_path=auto: resuming the interrupted run in {run} from {run / 'last.ckpt'}"
    assert cut.ckpt_path == str(run / "last.ckpt")
    (run / "status.json").write_text(json.dumps({"status": "finished"}))
    with pytest.raises(UserError, match="is a finished run"):
        resolve_auto_resume(OmegaConf.create({"run_dir": str(run), "ckpt_path": "auto"}))
