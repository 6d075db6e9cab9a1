"""The command-line contract: --help, --cfg job, and bad input as one clear line with exit code 2."""
import pytest


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    return errors[0]


def test_cfg_job_prints_the_composed_config(cli, tmp_path):
    proc = cli(["method=video_coop", "dataset=ucf101", "backbone=clip_tiny", "--cfg", "job"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "name: video_coop" in proc.stdout and "clip-tiny" in proc.stdout
    assert "accumulate_grad_batches: ${dataset.batches_per_backprop}" in proc.stdout


def test_help_lists_the_groups(cli, tmp_path):
    proc = cli(["--help"], tmp_path)
    assert proc.returncode == 0
    for group in ("method:", "backbone:", "dataset:", "task:"):
        assert group in proc.stdout
    assert "video_coop" in proc.stdout


def test_help_opens_with_the_commands_and_lists_only_real_choices(cli, tmp_path):
    proc = cli(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.split("== Configuration groups ==")[0]
    assert head.startswith("train (videoprompt)") and "vp-evaluate" in head and "vp-check-dataset" in head
    method_line = next(line for line in proc.stdout.splitlines() if line.startswith("method: "))
    assert method_line == "method: dual_coop, stt, video_coop, vidop, vifi_clip, vilt, vita, zero_shot"
    groups = proc.stdout.split("== Config ==")[0]
    assert "_base" not in groups and "_text_context" not in groups


def test_an_internal_base_is_not_a_choice(cli, tmp_path):
    line = _one_error_line(cli(["method=_base"], tmp_path))
    assert "unknown method '_base'" in line and "video_coop" in line and "_text_context" not in line
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("arg, words", [("method=nope", ["method", "nope", "video_coop"]),
                                        ("backbone=resnet", ["backbone", "resnet", "clip_tiny"])])
def test_unknown_group_option(cli, tmp_path, arg, words):
    line = _one_error_line(cli([arg], tmp_path))
    assert all(w in line for w in words), line


def test_missing_dataset_root_says_where_to_get_it(cli, tiny_clip_run, tmp_path):
    line = _one_error_line(cli(["dataset=ucf101", f"dataset.root={tmp_path}/nowhere", *tiny_clip_run], tmp_path))
    assert f"{tmp_path}/nowhere" in line and "crcv.ucf.edu" in line


def test_missing_continue_from(cli, tiny_clip_run, synthetic_root, tmp_path):
    line = _one_error_line(cli(["dataset=ucf101", f"dataset.root={synthetic_root}",
                                    "continue_from=video_coop/ucf101/no-such-run", *tiny_clip_run], tmp_path))
    assert "continue_from=video_coop/ucf101/no-such-run" in line


def test_missing_resume_checkpoint(cli, tiny_clip_run, tmp_path):
    line = _one_error_line(cli([f"ckpt_path={tmp_path}/last.ckpt", *tiny_clip_run], tmp_path))
    assert "last.ckpt" in line


def test_malformed_split_line_names_file_and_line(cli, tiny_clip_run, synthetic_root, tmp_path):
    import shutil

    root = tmp_path / "ucf"
    shutil.copytree(synthetic_root, root)
    trainlist = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = trainlist.read_text().splitlines()
    lines[2] = "this line is broken"
    trainlist.write_text("\n".join(lines) + "\n")
    line = _one_error_line(cli(["dataset=ucf101", f"dataset.root={root}", *tiny_clip_run], tmp_path))
    assert "trainlist01.txt:3" in line


def test_a_header_backbone_on_the_clip_task(cli, tiny_clip_run, synthetic_root, tmp_path):
    line = _one_error_line(cli(["dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                                    "backbone=csn_tiny"], tmp_path))
    assert "backbone.kind=csn" in line and "clip_b16" in line
