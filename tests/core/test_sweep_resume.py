"""A multirun run again with the same sweep folder: finished jobs are skipped (their recorded result counts),
unfinished ones resume from their last.ckpt, the rest train (src/core/sweep_resume.py)."""
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict

from src.core import sweep_resume

OVERRIDES = ["seed=1", "method.pooling=mean"]
# One short epoch per job on the session's synthetic set (as tests/core/test_sweep_summary.py runs its sweeps).
SHORT = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=2",
         "dataset.k_val=null", "~callbacks.early_stopping"]


@pytest.fixture
def job(tmp_path, monkeypatch):
    """A sweep job's folder, its Hydra context (multirun, these overrides) and a `train` that records its config."""
    job_dir = tmp_path / "multirun" / "1"
    job_dir.mkdir(parents=True)
    hydra_cfg = SimpleNamespace(mode=RunMode.MULTIRUN, runtime=SimpleNamespace(output_dir=str(job_dir)),
                                overrides=SimpleNamespace(task=list(OVERRIDES)))
    monkeypatch.setattr(sweep_resume, "HydraConfig", SimpleNamespace(initialized=lambda: True, get=lambda: hydra_cfg))
    trained = []

    def train(cfg):
        trained.append(OmegaConf.to_container(cfg, resolve=True))
        return {"val_top1": 0.5}

    cfg = OmegaConf.create({"ckpt_path": None, "run_id": "${tag}-j1", "tag": "now",
                            "run_dir": f"{tmp_path}/models/${{run_id}}"})
    return SimpleNamespace(dir=job_dir, cfg=cfg, train=train, trained=trained, runs=tmp_path / "models")


def earlier_run(job, status: str, last_ckpt: bool, overrides=OVERRIDES) -> Path:
    run_dir = job.runs / "before-j1"
    run_dir.mkdir(parents=True)
    (run_dir / "status.json").write_text(json.dumps({"status": status}))
    if last_ckpt:
        (run_dir / "last.ckpt").write_bytes(b"ckpt")
    (job.dir / "job.json").write_text(json.dumps({"overrides": overrides, "run_dir": str(run_dir)}))
    return run_dir


def test_a_new_job_trains_and_records_the_run_folder_it_uses(job):
    assert sweep_resume.train_or_skip(job.cfg, job.train) == {"val_top1": 0.5}
    assert job.trained[0]["run_dir"] == str(job.runs / "now-j1")
    assert json.loads((job.dir / "job.json").read_text()) == {"overrides": OVERRIDES, "run_dir": str(job.runs / "now-j1")}


@pytest.mark.parametrize("ckpt_path", [None, "auto"])  # auto: the default under hydra/launcher=slurm
def test_a_finished_job_is_skipped_and_returns_its_recorded_result(job, ckpt_path):
    earlier_run(job, "finished", last_ckpt=True)
    (job.dir / "result.json").write_text(json.dumps({"overrides": OVERRIDES, "val_top1": 0.75}))
    job.cfg.ckpt_path = ckpt_path
    assert sweep_resume.train_or_skip(job.cfg, job.train) == {"val_top1": 0.75}
    assert job.trained == []


@pytest.mark.parametrize("status", ["interrupted", "failed", "running"])
def test_an_unfinished_job_resumes_from_its_last_checkpoint(job, status):
    run_dir = earlier_run(job, status, last_ckpt=True)
    sweep_resume.train_or_skip(job.cfg, job.train)
    assert job.trained[0]["ckpt_path"] == str(run_dir / "last.ckpt")


def test_an_unfinished_job_without_a_checkpoint_or_another_sweeps_job_trains_anew(job):
    earlier_run(job, "interrupted", last_ckpt=False)
    sweep_resume.train_or_skip(job.cfg, job.train)
    assert job.trained[-1]["ckpt_path"] is None and job.trained[-1]["run_dir"] == str(job.runs / "now-j1")
    (job.dir / "result.json").write_text(json.dumps({"overrides": ["seed=7"], "val_top1": 0.75}))
    (job.dir / "job.json").write_text(json.dumps({"overrides": ["seed=7"], "run_dir": str(job.runs / "before-j1")}))
    sweep_resume.train_or_skip(job.cfg, job.train)  # same job number, other overrides: not this job
    assert len(job.trained) == 2 and job.trained[-1]["ckpt_path"] is None


def test_a_single_run_is_not_a_sweep_job(job, monkeypatch):
    monkeypatch.setattr(sweep_resume, "HydraConfig", SimpleNamespace(initialized=lambda: False))
    earlier_run(job, "interrupted", last_ckpt=True)
    sweep_resume.train_or_skip(job.cfg, job.train)
    assert job.trained[0]["ckpt_path"] is None


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow  # five tiny training runs (one of them resumed) in two sweeps: ~30 s here
def test_a_killed_sweep_run_again_skips_the_finished_jobs_resumes_the_cut_one_and_runs_the_rest(
        cli, synthetic_root, tiny_clip_run, tmp_path, monkeypatch):
    import src.train

    real_train = src.train.train

    def train_cut_at_seed_2(cfg):  # job 2 gets Ctrl-C after its first step: the sweep stops there
        if cfg.seed == 2:
            with open_dict(cfg):
                cfg.callbacks.kill = {"_target_": "tests.core.kill_switch.KillSwitch", "at_step": 1,
                                      "signal_name": "SIGINT"}
        return real_train(cfg)

    args = ["-m", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run, *SHORT, "seed=0,1,2,3"]
    with monkeypatch.context() as patch:
        patch.setattr(src.train, "train", train_cut_at_seed_2)
        first = cli(args, tmp_path)
    assert first.returncode == 130, first.stderr[-4000:]
    sweep = tmp_path / "multirun"
    runs = {job: Path(json.loads((sweep / job / "job.json").read_text())["run_dir"]) for job in ("0", "1", "2")}
    assert not (sweep / "3").exists() and not (sweep / "summary.csv").exists()
    assert json.loads((runs["2"] / "status.json").read_text())["status"] == "interrupted"
    before = {job: {**_files(runs[job]), "result.json": (sweep / job / "result.json").stat().st_mtime_ns}
              for job in ("0", "1")}

    again = cli(args, tmp_path)
    assert again.returncode == 0, again.stderr[-4000:]
    for job in ("0", "1"):  # not retrained: every file of theirs untouched
        assert f"job {job}: {runs[job]} finished in an earlier run of this sweep; skipped" in again.stdout
        assert {**_files(runs[job]), "result.json": (sweep / job / "result.json").stat().st_mtime_ns} == before[job]
    assert f"job 2: resuming {runs['2']} from its last.ckpt" in again.stdout
    assert json.loads((sweep / "2" / "job.json").read_text())["run_dir"] == str(runs["2"])  # the same folder
    assert torch.load(runs["2"] / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == 2
    runs["3"] = Path(json.loads((sweep / "3" / "job.json").read_text())["run_dir"])
    assert len(set(runs.values())) == 4
    assert all(json.loads((r / "status.json").read_text())["status"] == "finished" for r in runs.values())
    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(summary["seed"]) == [0, 1, 2, 3] and summary["val_top1"].notna().all()
    table = pd.read_csv(sweep / "sweep_table.csv")
    assert table["n_seeds"].tolist() == [4] and table["seeds"].tolist() == ["0 1 2 3"]
