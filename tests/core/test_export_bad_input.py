"""`python -m src.export`: every bad input (an unknown format, a run without weights, a missing run, an output that
cannot be a folder or is another folder, a bad value, a parity check that fails) is one `error:` line on stderr,
exit code 2, and nothing written anywhere: no export folder, no staging folder, no Hydra folder, the prior runs
byte-identical (tests/core/bad_input_helpers.py)."""
import pytest

from src.export import check_command
from tests.core.bad_input_helpers import assert_bad_input, fill, prior_workspace, repo_entries


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    return prior_workspace(tmp_path_factory, synthetic_root)


# (id, arguments ({placeholders} from `prior`), words the error line must contain)
CASES = [
    ("unknown_format", ["run={clip_run}", "format=tflite"], "format='tflite': must be one of onnx | torchscript"),
    ("no_run", ["format=onnx"], "run= is required: python -m src.export run="),
    ("run_missing", ["run={root}/models/nope"], "found neither"),
    ("run_not_a_run", ["run={root}/empty_folder"], "is not a task=clip run folder"),
    ("clip_run_without_weights", ["run={clip_no_checkpoint}"], "checkpoint.pth: no checkpoint"),
    ("clip_weights_unreadable", ["run={clip_bad_checkpoint}"], "not a readable PyTorch checkpoint"),
    ("header_run_without_weights", ["run={header_no_checkpoint}", "format=torchscript"], "points at is missing"),
    ("header_best_unparsable", ["run={header_bad_best}"], "best_metrics.json: unreadable"),
    ("output_under_a_file", ["run={clip_run}", "output={root}/a_file/out"], "output={root}/a_file/out: cannot create"),
    ("output_is_a_file", ["run={header_run}", "output={root}/a_file"], "output={root}/a_file: is a file"),
    ("output_another_folder", ["run={header_run}", "output={clip_run}", "overwrite=true"],
     "output={clip_run}: a folder that is not an export (it holds"),
    ("typo_key", ["run={clip_run}", "formats=onnx"], "did you mean format"),
    ("overwrite_maybe", ["run={clip_run}", "overwrite=maybe"], "overwrite='maybe': must be true or false"),
    ("num_inputs_0", ["run={clip_run}", "parity.num_inputs=0"], "parity.num_inputs=0: must be a positive integer"),
    ("tolerance_0", ["run={clip_run}", "parity.tolerance=0"], "parity.tolerance=0: must be a number > 0"),
    ("opset_3", ["run={header_run}", "opset=3"], "opset=3: must be an ONNX opset >= 7"),
    ("task_of_another_run", ["run={header_run}", "task=clip"], "is a task=header run, not task=clip"),
    # The check runs at export time; a tolerance no float export meets: refused, the staging folder removed.
    ("parity_fails", ["run={header_run}", "format=onnx", "parity.tolerance=1e-30", "parity.num_inputs=2"],
     "the exported model's logits differ from PyTorch's by up to"),
]


@pytest.mark.parametrize("args, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(prior, cli, tmp_path, args, words):
    repo_before = repo_entries()
    result = cli(fill(args, prior), tmp_path, module="src.export")
    assert_bad_input(result.returncode, result.stderr, fill([words], prior)[0], prior, tmp_path, repo_before)


@pytest.mark.parametrize("run", ["clip_run", "header_run"])
def test_the_base_command_lines_pass_the_checks(prior, tmp_path, run):
    """The cases above fail for their one bad part: a run of either task with its default output passes."""
    argv = [f"run={prior[run]}", "format=onnx", f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"]
    assert check_command(argv) == tmp_path / "o"
    assert sorted(tmp_path.iterdir()) == []
