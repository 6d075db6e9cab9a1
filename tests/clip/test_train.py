"""End-to-end task=clip runs through the CLI on the synthetic set: artifacts, accumulation, resume, continue_from,
sweeps, DDP. Each test asserts on the files a run writes."""
import json
import math
import os

import pytest
import torch


def _train(run, tiny_clip_run, tmp_path, synthetic_root, *extra):
    """`run` is the `cli` (in-process) or `subprocess_cli` fixture. Every validation video and 8 context tokens
    (not video_coop's seed defaults k_val=4, ctx_len=16): the resume test needs epoch 1 to improve on epoch 0."""
    proc = run(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                "dataset.k_val=null", "method.ctx_len=8", *extra], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def base_run(tiny_clip_run, tmp_path_factory, synthetic_root):
    """Two epochs of video_coop (in-process: a real process costs 20 s more); later tests resume and continue
    from it."""
    from src.train import train
    from tests.composed import compose_config

    tmp = tmp_path_factory.mktemp("base")
    environ, threads = dict(os.environ), torch.get_num_threads()
    try:  # train() sets the run folder's environment variable and torch's threads: put them back
        train(compose_config(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}",
                              *tiny_clip_run, "dataset.k_val=null", "method.ctx_len=8", "trainer.max_epochs=2",
                              "run_id=base"], tmp))
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return tmp, tmp / "models" / "video_coop" / "ucf101" / "base"


def test_run_writes_the_four_artifacts(base_run):
    _, run = base_run
    config = json.loads((run / "config.json").read_text())
    assert config["method"]["name"] == "video_coop" and config["backbone"]["name"] == "clip-tiny"
    log = json.loads((run / "training_log.json").read_text())
    assert [r["epoch"] for r in log] == [0, 1]
    for key in ("train_loss", "train_acc", "val_loss", "val_top1", "val_top5", "lr", "seconds"):
        assert all(r[key] is not None for r in log), key
    results = json.loads((run / "validation_results.json").read_text())
    assert results["top1"] == max(r["val_top1"] for r in log)
    assert results["best_epoch"] == max(log, key=lambda r: r["val_top1"])["epoch"]
    num_classes = len(config_classes := results["class_names"])
    matrix = torch.tensor(results["confusion_matrix"])
    assert matrix.shape == (num_classes, num_classes) and matrix.sum().item() == results["num_videos"] > 0
    assert set(results["per_class_accuracy"]) == set(config_classes)
    assert results["frames_per_view"] == 4 and results["temporal_views"] == 1
    ckpt = torch.load(run / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert ckpt["meta"]["class_names"] == results["class_names"] and ckpt["meta"]["method"] == "video_coop"
    assert any("ctx" in k for k in ckpt["state_dict"]) and any("pooling" in k for k in ckpt["state_dict"])
    assert not any(k.startswith("clip.") for k in ckpt["state_dict"]), "frozen CLIP weights must not be saved"
    assert (run / "last.ckpt").is_file() and (run / "logs" / "metrics.csv").is_file()


def test_accumulation_steps_the_optimizer_a_quarter_as_often(cli, tiny_clip_run, base_run, synthetic_root, tmp_path):
    _, base = base_run
    per_epoch = json.loads((base / "training_log.json").read_text())[0]["optimizer_steps"]
    _train(cli, tiny_clip_run, tmp_path, synthetic_root, "trainer.max_epochs=1", "run_id=acc", "batches_per_backprop=4")
    log = json.loads((tmp_path / "models/video_coop/ucf101/acc/training_log.json").read_text())
    assert per_epoch >= 4 and log[0]["optimizer_steps"] == math.ceil(per_epoch / 4)


def test_resume_continues_at_the_next_epoch_with_the_optimizer_state(cli, tiny_clip_run, base_run, synthetic_root):
    tmp, run = base_run
    before = torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)
    log_before = json.loads((run / "training_log.json").read_text())
    _train(cli, tiny_clip_run, tmp, synthetic_root, f"ckpt_path={run / 'last.ckpt'}", "trainer.max_epochs=3")
    log = json.loads((run / "training_log.json").read_text())
    assert [r["epoch"] for r in log] == [0, 1, 2] and log[:2] == log_before
    after = torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)
    per_epoch = log[0]["optimizer_steps"]
    assert after["global_step"] == before["global_step"] + per_epoch   # exactly one more epoch was trained
    steps = lambda ckpt: next(iter(ckpt["optimizer_states"][0]["state"].values()))["step"].item()  # noqa: E731
    assert steps(before) == 2 * per_epoch and steps(after) == 3 * per_epoch  # Adam moments carried on


def test_continue_from_restores_the_context_on_other_classes(cli, tiny_clip_run, base_run, synthetic_root, tmp_path):
    """A list-format dataset with fewer classes: the shared context is loaded exactly (lr 0 keeps it)."""
    base_tmp, base = base_run
    trainlist = (synthetic_root / "ucfTrainTestlist" / "trainlist01.txt").read_text().splitlines()
    classes = sorted({line.split("/")[0] for line in trainlist})[:3]
    rows = [line.split()[0] for line in trainlist if line.split("/")[0] in classes]
    for name, part in (("train.txt", rows[::2]), ("val.txt", rows[1::2])):
        (tmp_path / name).write_text("".join(f"{p} {classes.index(p.split('/')[0])}\n" for p in part))
    (tmp_path / "classes.txt").write_text("\n".join(classes) + "\n")
    proc = cli(["method=video_coop", "dataset=list", f"dataset.root={synthetic_root}",
                    f"dataset.train_list={tmp_path}/train.txt", f"dataset.val_list={tmp_path}/val.txt",
                    f"dataset.class_names_file={tmp_path}/classes.txt", *tiny_clip_run, "trainer.max_epochs=1",
                    "optimizer.lr=0", "scheduler.eta_min=0", "method.ctx_len=8", "run_id=cont",
                    f"continue_from={base}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "loaded" in proc.stdout + proc.stderr
    old = torch.load(base / "checkpoint.pth", weights_only=True)["state_dict"]
    new_ckpt = torch.load(tmp_path / "models/video_coop/list/cont/checkpoint.pth", weights_only=True)
    assert len(new_ckpt["meta"]["class_names"]) == 3
    ctx_keys = [k for k in old if "ctx" in k]
    assert ctx_keys and all(torch.equal(old[k], new_ckpt["state_dict"][k]) for k in ctx_keys)


@pytest.mark.slow  # end to end, long: make test-all
def test_sweep_runs_six_jobs_and_writes_a_summary(cli, tiny_clip_run, synthetic_root, tmp_path):
    proc = cli(["-m", "method.ctx_len=4,8,16", "method.pooling=mean,attention", "dataset=ucf101",
                    f"dataset.root={synthetic_root}", *tiny_clip_run, "trainer.max_epochs=1",
                    "trainer.limit_train_batches=2", "trainer.limit_val_batches=2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import pandas as pd

    summary = pd.read_csv(tmp_path / "multirun" / "summary.csv")
    assert len(summary) == 6
    assert sorted(zip(summary["method.ctx_len"], summary["method.pooling"])) == sorted(
        (c, p) for c in (4, 8, 16) for p in ("mean", "attention"))
    assert summary["val_top1"].between(0, 1).all()
    assert len(list((tmp_path / "models" / "video_coop" / "ucf101").iterdir())) == 6


@pytest.mark.slow  # end to end, long: make test-all
def test_two_process_cpu_ddp_writes_artifacts_once(subprocess_cli, tiny_clip_run, synthetic_root, tmp_path):
    _train(subprocess_cli, tiny_clip_run, tmp_path, synthetic_root, "trainer=ddp_cpu", "trainer.max_epochs=1", "run_id=ddp")
    run = tmp_path / "models/video_coop/ucf101/ddp"
    log = json.loads((run / "training_log.json").read_text())
    assert len(log) == 1
    results = json.loads((run / "validation_results.json").read_text())
    val_videos = results["data"]["num_videos"]["val"]
    # Metrics are synced: both ranks' halves are counted (the sampler pads an odd split by one video).
    assert val_videos <= results["num_videos"] <= val_videos + 1
    # The dataset index: scanned while the run was built, written once (global rank 0, in setup), readable.
    [index_file] = (tmp_path / "cache" / "index").glob("*.json")
    assert json.loads(index_file.read_text())["splits"]["train"]["path"]


@pytest.mark.slow  # end to end, long: make test-all
def test_demo_learns_the_appearance_classes(subprocess_cli, tmp_path):
    """`experiment=demo` on a fixed seed: the appearance classes are recognised well above chance (1/7)."""
    from src.clip.data.class_names import prompt_name
    from src.synthetic.datasets import CLASS_GROUPS

    proc = subprocess_cli(["experiment=demo", "~callbacks.progress_bar", "task.test_after_fit=false"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (run,) = (tmp_path / "models" / "video_coop" / "synthetic").iterdir()
    per_class = json.loads((run / "validation_results.json").read_text())["per_class_accuracy"]
    appearance = [per_class[prompt_name(c)] for c in CLASS_GROUPS["appearance"]]
    assert sum(appearance) / len(appearance) >= 0.5, per_class


@pytest.mark.slow  # end to end, long: make test-all
def test_demo_sweep_over_the_six_methods(subprocess_cli, tmp_path):
    """`-m experiment=demo method=…` runs every method (default layer schedules on the 12-layer tiny CLIP)."""
    methods = ["video_coop", "dual_coop", "stt", "vidop", "vilt", "vita"]
    proc = subprocess_cli(["-m", "experiment=demo", f"method={','.join(methods)}", "trainer.max_epochs=1",
                    "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "task.test_after_fit=false",
                    "dataset.batch_size=2", "dataset.num_frames=4", "dataset.num_workers=0",
                    "~callbacks.progress_bar"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import pandas as pd

    summary = pd.read_csv(tmp_path / "multirun" / "summary.csv")
    assert sorted(summary["method"]) == sorted(methods)
    for method in methods:
        (run,) = (tmp_path / "models" / method / "synthetic").iterdir()
        assert (run / "checkpoint.pth").is_file() and (run / "validation_results.json").is_file()


def _with_corrupt_videos(synthetic_root, tmp_path, count: int):
    """A copy of the synthetic set whose first `count` train-list videos (class by class) are garbage bytes."""
    import shutil

    root = tmp_path / "ucf"
    shutil.copytree(synthetic_root, root)
    listed = sorted((root / "ucfTrainTestlist" / "trainlist01.txt").read_text().split()[::2])
    for relative in listed[:count]:
        (root / relative).write_bytes(b"\x00 this is not a video \x00" * 10)
    return root


def test_undecodable_videos_are_skipped_and_counted(cli, tiny_clip_run, synthetic_root, tmp_path):
    # Every train-list video of the first class: the group hold-out puts some of them in validation.
    per_class = len((synthetic_root / "ucfTrainTestlist" / "trainlist01.txt").read_text().split()[::2]) // 7
    root = _with_corrupt_videos(synthetic_root, tmp_path, count=per_class)
    proc = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={root}", *tiny_clip_run,
                    "trainer.max_epochs=1", "run_id=bad", "dataset.max_bad_fraction=0.5",
                    "task.test_after_fit=false"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipping a bad video" in proc.stderr + proc.stdout
    results = json.loads((tmp_path / "models/video_coop/ucf101/bad/validation_results.json").read_text())
    assert results["bad_videos"] >= 1
    assert results["bad_videos"] + results["num_videos"] == results["data"]["num_videos"]["val"]


def test_too_many_undecodable_videos_stop_the_run(cli, tiny_clip_run, synthetic_root, tmp_path):
    root = _with_corrupt_videos(synthetic_root, tmp_path, count=6)
    proc = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={root}", *tiny_clip_run,
                    "trainer.max_epochs=1", "dataset.max_bad_fraction=0.0"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "could not be decoded" in line and "max_bad_fraction" in line
