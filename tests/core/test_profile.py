"""`python -m src.profile`: the training config's model measured without data or run folder; bad input is one line."""
import json

import pytest


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_profile_prints_and_writes_the_figures_and_creates_no_run_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cost.json"
    proc = cli(["experiment=demo", f"output={out}", "timed_iters=1"], tmp_path, module="src.profile")
    assert proc.returncode == 0, proc.stderr
    cost = json.loads(out.read_text())
    # The demo: video_coop on the tiny CLIP, 8 frames of 32², one view.
    assert cost["input_shape"] == [1, 1, 8, 3, 32, 32] and (cost["num_frames"], cost["image_size"]) == (8, 32)
    assert 0 < cost["params_trainable"] < cost["params_total"]
    assert cost["gflops_train"] >= cost["gflops_forward"] > 0
    step = cost["per_step"]   # the text tower over the prompts of 101 classes, once per training step
    assert step["gflops_train"] > step["gflops_forward"] > 0 and step["activation_mb"] > 0
    assert f"{cost['gflops_forward']:.2f}" in proc.stdout and "GFLOPs forward" in proc.stdout
    assert files_under(tmp_path) == ["cost.json"]   # no run folder, no data, nothing of Hydra's
    assert not (tmp_path / "models").exists()


def test_a_method_without_training_has_no_training_figures(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cost.json"
    proc = cli(["experiment=demo", "method=zero_shot", f"output={out}", "timed_iters=1"], tmp_path,
               module="src.profile")
    assert proc.returncode == 0, proc.stderr
    cost = json.loads(out.read_text())
    assert cost["params_trainable"] == 0 and cost["gflops_forward"] > 0
    assert cost["gflops_train"] is None and cost["per_step"] is None and cost["activation_mb"] == 0
    assert "none (nothing to train)" in proc.stdout


def test_profile_of_a_header_net_uses_the_datasets_frames_and_size(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cost.json"
    proc = cli(["task=header", "backbone=csn_tiny", "dataset.num_frames=8", "dataset.input_size=64",
                f"output={out}", "timed_iters=1"], tmp_path, module="src.profile")
    assert proc.returncode == 0, proc.stderr
    cost = json.loads(out.read_text())
    assert cost["input_shape"] == [1, 3, 8, 64, 64] and cost["per_step"] is None
    assert files_under(tmp_path) == ["cost.json"]


@pytest.mark.parametrize("args, expected", [
    (["dataset.num_frame=4"], "did you mean dataset.num_frames"),
    (["device=tpu"], "device='tpu'"),
    (["timed_iters=0"], "timed_iters=0"),
    (["task=header", "backbone=clip_b16"], "backbone"),
])
def test_bad_input_is_one_error_line_and_exit_2(cli, tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    proc = cli(args, tmp_path, module="src.profile")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert expected in proc.stderr and proc.stdout == ""
    assert files_under(tmp_path) == []


def test_output_naming_a_folder_is_refused_before_anything_runs(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").mkdir()
    proc = cli(["experiment=demo", f"output={tmp_path / 'here'}"], tmp_path, module="src.profile")
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    assert files_under(tmp_path) == []
