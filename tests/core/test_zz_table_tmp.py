"""Every bad input is one `error:` line on stderr, exit code 2, no traceback, and nothing lost: the run folders
that existed before (a clip run and a header run, which some cases point at) are byte-identical afterwards, and
no new run folder appears. Both tasks and the split tool (data_tools.split_dataset.main(argv) returns the code)."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIP = ["method=video_coop", "dataset=ucf101", "backbone=clip_tiny", "trainer=cpu", "dataset.num_frames=4",
        "dataset.num_temporal_views=1", "dataset.num_spatial_views=1", "dataset.batch_size=4", "dataset.num_workers=0",
        "dataset.batches_per_backprop=1", "~callbacks.progress_bar", "logger=csv", "trainer.max_epochs=1"]
HEADER = ["task=header", "backbone=csn_tiny", "dataset=header_synthetic", "trainer=cpu", "dataset.batch_size=4",
          "dataset.num_workers=0", "dataset.synthetic.num_clips=24", "~callbacks.progress_bar", "logger=csv",
          "trainer.max_epochs=1"]


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    """A finished clip run and a finished header run (real subprocess runs), plus files the cases point at."""
    root = tmp_path_factory.mktemp("prior")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "WANDB_MODE": "offline"}
    for args in ([*CLIP, f"dataset.root={synthetic_root}", "run_id=prior"],
                 [*HEADER, f"dataset.root={root}/header_data", "run_name=prior"]):
        proc = subprocess.run([sys.executable, "-m", "src.train", f"paths.root_dir={root}",
                               f"hydra.run.dir={root}/outputs", *args], cwd=REPO, capture_output=True, text=True,
                              env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
    (root / "random.ckpt").write_bytes(os.urandom(4096))
    (root / "json.ckpt").write_text(json.dumps({"state_dict": {}, "epoch": 3}))
    (root / "a_file").write_text("not a folder\n")
    clip_run = root / "models/video_coop/ucf101/prior"
    header_run = root / "report/header_experiments/prior"
    return {"root": root, "clip_run": clip_run, "header_run": header_run, "synthetic": synthetic_root,
            "header_data": root / "header_data",
            "header_best": next((header_run / "checkpoints").glob("best_epoch_*.pt"))}


def _snapshot(*folders: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


# (id, task, extra overrides (with {placeholders} from `prior`), words the error line must contain)
CASES = [
    ("batch_size_0", "clip", ["dataset.batch_size=0"], "dataset.batch_size=0"),
    ("num_workers_negative", "clip", ["dataset.num_workers=-1"], "dataset.num_workers=-1"),
    ("max_epochs_text", "clip", ["trainer.max_epochs=abc"], "trainer.max_epochs='abc'"),
    ("epochs_alias_text", "clip", ["epochs=abc"], "trainer.max_epochs='abc'"),
    ("num_frames_0_clip", "clip", ["dataset.num_frames=0"], "dataset.num_frames=0"),
    ("accumulate_0", "clip", ["batches_per_backprop=0"], "trainer.accumulate_grad_batches=0"),
    ("seed_negative", "clip", ["seed=-1"], "seed=-1"),
    ("typo_method_key", "clip", ["method.ctxlen=4"], "did you mean method.ctx_len"),
    ("typo_trainer_key", "clip", ["trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
    ("unknown_trainer_key", "clip", ["trainer.fast_mode=true"], "the config has no key trainer.fast_mode"),
    ("delete_missing_key", "clip", ["~method.nope"], "no key method.nope"),
    ("sweep_without_multirun", "clip", ["method.ctx_len=4,8"], "--multirun"),
    ("unparsable_override", "clip", ["method.ctx_len=[4,8"], "cannot parse"),
    ("unknown_method", "clip", ["method=nope"], "unknown method 'nope'"),
    ("unknown_logger", "clip", ["logger=nope"], "unknown logger 'nope'"),
    ("header_backbone_on_clip", "clip", ["backbone=csn_tiny"], "task=clip needs a backbone of kind clip"),
    ("gpu_ids_absent", "clip", ["trainer.accelerator=auto", "trainer.devices=[0,1]"], "CUDA device(s) visible"),
    ("gpus_alias_absent", "clip", ["trainer.accelerator=auto", "gpus=[0,1]"], "gpus=[0, 1]: GPU 0, 1 not present"),
    ("gpu_ids_on_cpu", "clip", ["trainer.accelerator=cpu", "trainer.devices=[0,1]"], "trainer.accelerator=cpu"),
    ("gpu_count_absent", "clip", ["trainer.accelerator=gpu", "trainer.devices=64"], "CUDA device(s) visible"),
    ("devices_zero", "clip", ["trainer.devices=0"], "trainer.devices=0"),
    ("models_dir_under_a_file", "clip", ["paths.models_dir={root}/a_file/models"], "a_file is a file"),
    ("hydra_run_dir_under_a_file", "clip", ["hydra.run.dir={root}/a_file/out"], "hydra.run.dir="),
    ("missing_dataset_root", "clip", ["dataset.root={root}/no_such_dataset"], "no_such_dataset"),
    ("ckpt_missing", "clip", ["ckpt_path={root}/nope.ckpt"], "no such file"),
    ("ckpt_random_bytes", "clip", ["ckpt_path={root}/random.ckpt"], "not a readable PyTorch checkpoint"),
    ("ckpt_json", "clip", ["ckpt_path={root}/json.ckpt"], "json.ckpt"),
    ("ckpt_is_checkpoint_pth", "clip", ["ckpt_path={clip_run}/checkpoint.pth"], "resume from last.ckpt beside it"),
    ("ckpt_of_header_task", "clip", ["ckpt_path={header_run}/last.ckpt"], "a task=header checkpoint"),
    ("ckpt_shape_mismatch", "clip", ["ckpt_path={clip_run}/last.ckpt", "method.ctx_len=4"], "does not fit"),
    ("ckpt_other_method", "clip", ["ckpt_path={clip_run}/last.ckpt", "method=dual_coop"], "does not fit"),
    ("continue_from_missing", "clip", ["continue_from=video_coop/ucf101/nope"], "continue_from=video_coop/ucf101/nope"),
    ("continue_from_random", "clip", ["continue_from={root}/random.ckpt"], "random.ckpt: not a readable"),
    ("continue_from_json", "clip", ["continue_from={root}/json.ckpt"], "json.ckpt"),
    ("continue_from_last_ckpt", "clip", ["continue_from={clip_run}/last.ckpt"], "ckpt_path="),
    ("continue_from_header_pt", "clip", ["continue_from={header_best}"], "not a task=clip checkpoint.pth"),
    ("clip_backbone_on_header", "header", ["backbone=clip_tiny"], "task=header needs a backbone of kind csn or vmae"),
    ("header_num_frames_0", "header", ["dataset.num_frames=0"], "dataset.num_frames=0"),
    ("header_batch_size_0", "header", ["dataset.batch_size=0"], "dataset.batch_size=0"),
    ("header_val_batch_size_0", "header", ["dataset.val_batch_size=0"], "dataset.val_batch_size=0"),
    ("header_max_epochs_negative", "header", ["trainer.max_epochs=-5"], "trainer.max_epochs=-5"),
    ("header_typo_key", "header", ["finetune.lr_heda=1"], "did you mean finetune.lr_head"),
    ("header_unknown_finetune", "header", ["finetune=nope"], "unknown finetune 'nope'"),
    ("header_report_dir_under_a_file", "header", ["paths.report_dir={root}/a_file/report"], "a_file is a file"),
    ("header_missing_train_csv", "header", ["dataset.train_csv={root}/none/train_x.csv"], "no such file"),
    ("header_ckpt_of_clip_task", "header", ["ckpt_path={clip_run}/last.ckpt"], "a task=clip checkpoint"),
    ("header_ckpt_best_epoch_pt", "header", ["ckpt_path={header_best}"], "not a Lightning training checkpoint"),
    ("header_ckpt_other_backbone", "header", ["ckpt_path={header_run}/last.ckpt", "backbone=vmae_tiny"],
     "does not fit"),
    ("header_ckpt_random_bytes", "header", ["ckpt_path={root}/random.ckpt"], "not a readable PyTorch checkpoint"),
    ("header_gpu_ids_absent", "header", ["trainer.accelerator=gpu", "gpus=[0,1]"], "CUDA device(s) visible"),
    ("split_missing_csv", "split", ["--input_csv", "{root}/none.csv", "--output_dir", "{root}/split"], "none.csv"),
    ("split_val_fraction_out_of_range", "split",
     ["--input_csv", "{header_data}/all_clips.csv", "--output_dir", "{root}/split", "--val_split", "1.5"], "val_split"),
    ("split_val_fraction_text", "split",
     ["--input_csv", "{header_data}/all_clips.csv", "--output_dir", "{root}/split", "--val_split", "abc"], "--val_split"),
    ("split_missing_argument", "split", ["--output_dir", "{root}/split"], "--input_csv"),
    ("split_not_a_csv", "split", ["--input_csv", "{root}/random.ckpt", "--output_dir", "{root}/split"], "random.ckpt"),
]


@pytest.mark.parametrize("name, task, extra, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_lost(prior, cli, tmp_path, capsys, name, task, extra, words):
    extra = [a.format(**prior) for a in extra]
    before = _snapshot(prior["clip_run"], prior["header_run"])
    if task == "split":
        from data_tools.split_dataset import main

        capsys.readouterr()
        code = main(extra)
        err = capsys.readouterr().err
    else:
        data = (f"dataset.root={prior['synthetic']}" if task == "clip" else f"dataset.root={prior['header_data']}")
        result = cli([*(CLIP if task == "clip" else HEADER), data, *extra], tmp_path)
        code, err = result.returncode, result.stderr
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert words in lines[0], lines[0]
    print(f"TABLE|{name}|{task}|{' '.join(extra)}|{code}|{lines[0]}")
    assert _snapshot(prior["clip_run"], prior["header_run"]) == before  # nothing touched
    assert not (tmp_path / "models").exists() and not (tmp_path / "report").exists()  # no new run folder
