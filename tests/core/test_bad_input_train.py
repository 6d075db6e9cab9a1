"""`python -m src.train`: every bad input is one `error:` line on stderr, exit code 2, no traceback, and nothing
lost or left behind: no run folder, no Hydra output folder, the prior runs (which some cases point at)
byte-identical (tests/core/bad_input_helpers.py). Both tasks, in-process through the `cli` fixture."""
import os
import subprocess
import sys

import pytest

from tests.core.bad_input_helpers import (
    CLIP,
    HEADER,
    REPO,
    assert_bad_input,
    fill,
    prior_workspace,
    repo_entries,
    snapshot,
)


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    return prior_workspace(tmp_path_factory, synthetic_root)


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
    # GPU ids no machine has, so that the cases hold on a GPU machine too
    ("gpu_ids_absent", "clip", ["trainer.accelerator=auto", "trainer.devices=[98,99]"], "CUDA device(s) visible"),
    ("gpus_alias_absent", "clip", ["trainer.accelerator=auto", "gpus=[98,99]"], "gpus=[98, 99]: GPU 98, 99 not present"),
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
    ("header_gpu_ids_absent", "header", ["trainer.accelerator=gpu", "gpus=[98,99]"], "CUDA device(s) visible"),

    # values out of range (src/core/value_checks.py), found before Hydra starts
    ("max_epochs_0", "clip", ["trainer.max_epochs=0"], "trainer.max_epochs=0: must be a positive integer, -1"),
    ("epochs_alias_0", "clip", ["epochs=0"], "trainer.max_epochs=0"),
    ("lr_negative", "clip", ["optimizer.lr=-1"], "optimizer.lr=-1: must be a number >= 0"),
    ("ctx_len_0", "clip", ["method.ctx_len=0"], "method.ctx_len=0: must be a positive integer"),
    ("pooling_unknown", "clip", ["method.pooling=median"], "method.pooling='median': must be one of mean | max"),
    ("validate_only_maybe", "clip", ["validate_only=maybe"], "validate_only='maybe': must be true or false"),
    ("max_bad_fraction_1_5", "clip", ["dataset.max_bad_fraction=1.5"], "dataset.max_bad_fraction=1.5"),
    ("val_fraction_1", "clip", ["dataset.val_fraction=1"], "dataset.val_fraction=1: must be a fraction strictly"),
    ("k_train_0", "clip", ["dataset.k_train=0"], "dataset.k_train=0"),
    ("feature_cache_unknown", "clip", ["dataset.feature_cache=sometimes"], "dataset.feature_cache='sometimes'"),
    ("index_cache_unknown", "clip", ["dataset.index_cache=sometimes"], "dataset.index_cache='sometimes'"),
    ("accelerator_tpu", "clip", ["trainer.accelerator=tpu"], "trainer.accelerator='tpu'"),
    ("cpu_threads_0", "clip", ["trainer.cpu_threads=0"], "trainer.cpu_threads=0"),
    ("last_every_n_steps_0", "clip", ["callbacks.last_every_n_steps=0"], "callbacks.last_every_n_steps=0"),
    ("eta_min_negative", "clip", ["scheduler.eta_min=-1"], "scheduler.eta_min=-1"),
    ("sweep_value_out_of_range", "clip", ["-m", "seed=0,-1"], "seed=-1: must be an integer >= 0"),
    ("interpolation_unresolvable", "clip", ["paths.models_dir=${{nope.key}}"], "config key paths.models_dir"),
    ("unknown_flag", "clip", ["--mutlirun"], "unknown option --mutlirun; did you mean --multirun?"),
    ("cfg_flag_value", "clip", ["--cfg", "jobs"], "--cfg jobs: choose job, hydra or all"),
    ("cfg_job_with_a_typo", "clip", ["--cfg", "job", "method.ctxlen=4"], "did you mean method.ctx_len"),
    ("header_threshold_2", "header", ["task.threshold=2"], "task.threshold=2: must be a probability"),
    ("header_loss_unknown", "header", ["loss.name=hinge"], "loss.name='hinge': must be one of ce | weighted_ce"),
    ("header_layer_decay_2", "header", ["finetune.layer_decay=2"], "finetune.layer_decay=2"),
    ("header_ema_decay_1", "header", ["finetune.ema_decay=1"], "finetune.ema_decay=1"),
    ("header_flip_prob_2", "header", ["dataset.flip_prob=2"], "dataset.flip_prob=2"),
    ("header_augment_on_gpu", "header", ["dataset.augment_on=gpu"], "dataset.augment_on='gpu'"),
    ("header_warmup_negative", "header", ["scheduler.warmup_epochs=-1"], "scheduler.warmup_epochs=-1"),
    ("header_continue_from_clip_run", "header", ["continue_from={clip_run}"], "the config has no key continue_from"),
    ("header_neg_pos_ratio_0", "header", ["dataset.balanced_sampling=false", "dataset.neg_pos_ratio=0"],
     "dataset.neg_pos_ratio=0: must be a number > 0"),
    ("header_neg_pos_ratio_negative", "header", ["dataset.neg_pos_ratio=-2"], "dataset.neg_pos_ratio=-2: must be"),
    ("header_neg_pos_ratio_text", "header", ["dataset.neg_pos_ratio=many"], "dataset.neg_pos_ratio='many': must be"),
    # dataset=header_synthetic draws balanced: the two ways of sampling exclude each other
    ("header_neg_pos_ratio_and_balanced", "header", ["dataset.neg_pos_ratio=3"],
     "dataset.balanced_sampling=true and dataset.neg_pos_ratio=3 exclude each other"),
]


@pytest.mark.parametrize("name, task, extra, words", CASES, ids=[c[0] for c in CASES])
def test_bad_training_input_is_one_line_exit_2_and_nothing_left(prior, cli, tmp_path, name, task, extra, words):
    data = f"dataset.root={prior['synthetic']}" if task == "clip" else f"dataset.root={prior['header_data']}"
    repo_before = repo_entries()
    result = cli([*(CLIP if task == "clip" else HEADER), data, *fill(extra, prior)], tmp_path)
    assert_bad_input(result.returncode, result.stderr, words, prior, tmp_path, repo_before)


@pytest.mark.parametrize("task", ["clip", "header"])
def test_the_base_command_lines_pass_the_checks(prior, tmp_path, task):
    """The cases above fail for their one bad part: the rest of each command line is fine."""
    from src.train import check_command

    data = f"dataset.root={prior['synthetic']}" if task == "clip" else f"dataset.root={prior['header_data']}"
    argv = [*(CLIP if task == "clip" else HEADER), data, f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"]
    assert check_command(argv) == tmp_path / "o"
    assert sorted(tmp_path.iterdir()) == []


def test_a_real_process_prints_nothing_but_the_error_line(prior, tmp_path):
    """Outside pytest's capture, with an error found only once the model is built (after seeding, after importing
    the header models): no "Seed set to" log line, no FutureWarning, no library warning on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    argv = [*HEADER, f"dataset.root={prior['header_data']}", f"ckpt_path={prior['header_run']}/last.ckpt",
            "backbone=vmae_tiny", f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"]
    proc = subprocess.run([sys.executable, "-m", "src.train", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: ckpt_path={prior['header_run']}/last.ckpt: does not fit"), proc.stderr
    assert sorted(tmp_path.iterdir()) == []  # Hydra's folder, made before the model was built, is gone again
    assert snapshot(prior["root"], prior["synthetic"]) == prior["snapshot"]
