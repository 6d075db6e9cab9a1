"""Sweeps through Hydra's plugins: Optuna optimises the metric src.train returns, submitit launches the jobs
(locally here; the SLURM setup is checked down to its sbatch script), and the sweep summary collects every job."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# One short epoch per trial/job on the session's synthetic set.
SHORT = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=2",
         "dataset.k_val=null", "~callbacks.early_stopping"]


def test_optuna_sweep_runs_its_trials_and_reports_the_best_parameters(cli, synthetic_root, tiny_clip_run, tmp_path):
    result = cli(["-m", "hparams_search=clip_optuna", "experiment=demo", "hydra.sweeper.n_trials=2",
                  "hydra.sweeper.sampler.seed=3", f"dataset.root={synthetic_root}", *tiny_clip_run, *SHORT], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    sweep = tmp_path / "multirun"
    summary = pd.read_csv(sweep / "summary.csv")
    assert len(summary) == 2 and summary["val_top1"].notna().all()
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert set(best["best_params"]) == {"method.ctx_len", "method.pooling", "optimizer.lr"}
    # the value Optuna optimised is what each run returned: its val top-1 (task.optimize_metric)
    assert best["best_value"] == pytest.approx(summary["val_top1"].max())
    trial = summary.loc[summary["val_top1"].idxmax()]
    assert float(trial["optimizer.lr"]) == pytest.approx(best["best_params"]["optimizer.lr"])
    assert 1e-4 <= best["best_params"]["optimizer.lr"] <= 1e-2 and best["best_params"]["method.ctx_len"] in (4, 8, 16)


def test_header_optuna_search_composes_over_the_learning_rates_and_loss(cli, tmp_path):
    result = cli(["hparams_search=header_optuna", "task=header", "--cfg", "hydra"], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    sweeper = yaml.safe_load(result.stdout)["hydra"]["sweeper"]
    assert sweeper["_target_"].endswith("OptunaSweeper") and sweeper["sampler"]["_target_"].endswith("TPESampler")
    assert set(sweeper["params"]) == {"finetune.lr_backbone", "finetune.lr_head", "loss.name"}


def test_slurm_launcher_composes_to_an_sbatch_script_that_follows_the_trainer(cli, tmp_path, monkeypatch):
    result = cli(["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2",
                  "hydra.launcher.partition=gpu", "hydra.launcher.account=lab", "--cfg", "all", "--resolve"], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    composed = yaml.safe_load(result.stdout)
    launcher = composed["hydra"]["launcher"]
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert composed["ckpt_path"] == "auto"  # a requeued job resumes its run folder (src/core/auto_resume.py)
    # What the launcher hands submitit (its own key mapping), rendered to the sbatch script it would submit.
    submitit = pytest.importorskip("submitit")
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    from omegaconf import OmegaConf

    which = shutil.which  # no SLURM here: let submitit believe srun exists (it only renders the script)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}" if name == "srun" else which(name))
    executor = submitit.AutoExecutor(folder=str(tmp_path / "submitit"), cluster="slurm",
                                     slurm_max_num_timeout=launcher.pop("max_num_timeout"))
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in launcher.items()
                                  if k not in ("_target_", "submitit_folder")})
    script = executor._executor._make_submission_file_text("python -m src.train", "uid")
    for line in ("--nodes=2", "--ntasks-per-node=4", "--gpus-per-node=4", "--partition=gpu", "--account=lab",
                 "--cpus-per-task=8", "--time=1440", "--mem=64GB", "--signal=USR1@120", "--requeue"):
        assert f"#SBATCH {line}\n" in script, (line, script)
    assert "srun" in script and "USR2" not in script  # SIGUSR1 replaces submitit's own signal: one --signal line


@pytest.mark.slow  # two submitit job processes, each importing torch and training: minutes on a loaded machine
def test_local_submitit_launcher_runs_a_two_job_sweep_and_the_summary_collects_both(synthetic_root, tiny_clip_run,
                                                                                    tmp_path):
    # A real process: submitit's local launcher starts one subprocess per job and waits for them.
    cmd = [sys.executable, "-m", "src.train", "-m", f"paths.root_dir={tmp_path}", f"hydra.sweep.dir={tmp_path}/multirun",
           "hydra/launcher=local", "method.pooling=mean,attention", "dataset=ucf101", f"dataset.root={synthetic_root}",
           *tiny_clip_run, *SHORT]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "multirun" / "summary.csv")
    assert sorted(summary["method.pooling"]) == ["attention", "mean"] and summary["val_top1"].notna().all()
    assert len(list((tmp_path / "multirun" / ".submitit").glob("*/*_log.out"))) == 2  # two submitit jobs


@pytest.mark.slow  # four training runs in two sweeps: ~40 s here
def test_optuna_search_run_twice_continues_its_study_in_the_sweep_folder(cli, synthetic_root, tiny_clip_run, tmp_path):
    import optuna

    args = ["-m", "hparams_search=clip_optuna", "experiment=demo", "hydra.sweeper.n_trials=2",
            "hydra.sweeper.sampler.seed=3", f"dataset.root={synthetic_root}", *tiny_clip_run, *SHORT]
    for _ in range(2):  # the second run: same sweep folder, same study (storage: <sweep dir>/optuna.db)
        result = cli(args, tmp_path)
        assert result.returncode == 0, result.stderr[-4000:]
    sweep = tmp_path / "multirun"
    study = optuna.load_study(study_name="clip_optuna", storage=f"sqlite:///{sweep}/optuna.db")
    values = [t.value for t in study.trials]
    assert len(values) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    # each trial in its own job folder (job N = trial N): the summary lists all four
    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(summary["job"]) == [0, 1, 2, 3]
    assert sorted(summary["val_top1"]) == pytest.approx(sorted(values))
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(max(values))  # task.optimize_direction: maximize val top-1
