"""The tools: `python -m data_tools.check_dataset` and `data_tools.cache_features` (Hydra, in-process through the
`cli` fixture) and the argparse tools `make_synthetic` and `split_dataset` (their `main(argv)` returns the exit
code). Every bad input is one `error:` line on stderr, exit code 2, nothing else printed, nothing written
(tests/core/bad_input_helpers.py)."""
import pytest

from tests.core.bad_input_helpers import CLIP, assert_bad_input, fill, prior_workspace, repo_entries


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    return prior_workspace(tmp_path_factory, synthetic_root)


CHECK_CLIP = ["dataset=ucf101", "dataset.root={synthetic}", "backbone=clip_tiny"]
CHECK_HEADER = ["task=header", "dataset=header_synthetic", "dataset.root={header_data}", "backbone=csn_tiny"]
CHECK_DATASET = [
    ("decode_unknown", CHECK_CLIP, ["check.decode=some"], "check.decode='some': must be one of all | first | none"),
    ("max_listed_0", CHECK_CLIP, ["check.max_listed=0"], "check.max_listed=0: must be a positive integer"),
    ("min_videos_negative", CHECK_CLIP, ["check.min_videos_per_class=-1"], "check.min_videos_per_class=-1"),
    ("typo_key", CHECK_CLIP, ["check.decod=all"], "did you mean check.decode"),
    ("unknown_dataset", CHECK_CLIP, ["dataset=nope"], "unknown dataset 'nope'"),
    ("unparsable", CHECK_CLIP, ["dataset.root=[x"], "cannot parse"),
    ("unknown_flag", CHECK_CLIP, ["--bogus"], "unknown option --bogus"),
    ("output_under_a_file", CHECK_CLIP, ["check.output={root}/a_file/report"], "check.output={root}/a_file/report"),
    ("hydra_dir_under_a_file", CHECK_CLIP, ["hydra.run.dir={root}/a_file/out"], "hydra.run.dir={root}/a_file/out"),
    ("interpolation_unresolvable", CHECK_CLIP, ["check.output=${{nope}}"], "config key check.output"),
    ("batch_size_0", CHECK_CLIP, ["dataset.batch_size=0"], "dataset.batch_size=0"),
    ("num_workers_negative", CHECK_CLIP, ["dataset.num_workers=-1"], "dataset.num_workers=-1"),
    ("index_cache_unknown", CHECK_CLIP, ["dataset.index_cache=sometimes"], "dataset.index_cache='sometimes'"),
    ("header_backbone_on_clip", CHECK_CLIP, ["backbone=csn_tiny"], "task=clip needs a backbone of kind clip"),
    ("header_num_frames_0", CHECK_HEADER, ["dataset.num_frames=0"], "dataset.num_frames=0"),
    ("header_flip_prob_2", CHECK_HEADER, ["dataset.flip_prob=2"], "dataset.flip_prob=2"),
]
CACHE_FEATURES = [
    ("batch_size_0", ["dataset.batch_size=0"], "dataset.batch_size=0"),
    ("typo_key", ["method.ctxlen=4"], "did you mean method.ctx_len"),
    ("header_backbone", ["backbone=csn_tiny"], "task=clip needs a backbone of kind clip"),
    ("feature_cache_unknown", ["dataset.feature_cache=sometimes"], "dataset.feature_cache='sometimes'"),
]
ACTION, HEADER, MATCH = ["action", "--root", "{root}/new_action"], ["header", "--root", "{root}/new_header"], \
    ["match", "--out", "{root}/new_match/m.mp4"]
MAKE_SYNTHETIC = [
    ("groups_negative", [*ACTION, "--groups", "-1"], "make_synthetic groups: must be >= 2"),
    ("groups_0", [*ACTION, "--groups", "0"], "make_synthetic groups: must be >= 2"),
    ("clips_per_group_0", [*ACTION, "--clips_per_group", "0"], "make_synthetic clips_per_group: must be >= 1"),
    ("num_frames_1", [*ACTION, "--num_frames", "1"], "make_synthetic num_frames: must be >= 2"),
    ("width_0", [*ACTION, "--width", "0"], "make_synthetic width/height: must be even and >= 16"),
    ("width_odd", [*ACTION, "--width", "33"], "make_synthetic width/height"),
    ("groups_text", [*ACTION, "--groups", "abc"], "argument --groups: invalid int value: 'abc'"),
    ("layout_unknown", [*ACTION, "--layout", "nope"], "argument --layout: invalid choice: 'nope'"),
    ("seed_negative", [*ACTION, "--seed", "-1"], "argument --seed: -1: must be an integer >= 0"),
    ("root_is_a_file", ["action", "--root", "{root}/a_file"], "a_file is a file, not a folder"),
    ("root_not_ours", ["action", "--root", "{root}/damaged"], "exists and is not a dataset made by"),
    ("num_clips_negative", [*HEADER, "--num_clips", "-5"], "make_synthetic num_clips: must be >= 2"),
    ("positive_fraction_1_5", [*HEADER, "--positive_fraction", "1.5"], "make_synthetic positive_fraction"),
    ("size_0", [*HEADER, "--size", "0"], "make_synthetic size: must be >= 32"),
    ("minutes_0", [*MATCH, "--minutes", "0"], "argument --minutes: 0: must be a number > 0"),
    ("fps_negative", [*MATCH, "--fps", "-1"], "argument --fps: -1: must be a number > 0"),
    ("match_size_16", [*MATCH, "--size", "16"], "argument --size: 16: must be an integer >= 32"),
    ("match_size_odd", [*MATCH, "--size", "33"], "--size 33: must be even"),
    ("wide_width_odd", [*MATCH, "--wide", "--width", "641"], "--width 641: must be even"),
    ("wide_height_odd", [*MATCH, "--wide", "--height", "361"], "--height 361: must be even"),
    ("wide_height_100", [*MATCH, "--wide", "--height", "100"], "argument --height: 100: must be an integer >= 120"),
    ("wide_half_0", [*MATCH, "--wide", "--half", "0"], "argument --half: 0: must be an integer >= 1"),
    ("wide_no_frame", [*MATCH, "--wide", "--minutes", "0.001", "--fps", "1"], "less than one frame"),
    ("out_under_a_file", ["match", "--out", "{root}/a_file/m.mp4"], "a_file is a file, not a folder"),
    ("out_is_a_folder", ["match", "--out", "{root}/empty_folder"], "empty_folder: is a folder"),
    ("out_not_a_video_name", ["match", "--out", "{root}/new_match/m.gif"], "name an .mp4 or .avi file"),
    ("unknown_command", ["movie"], "invalid choice: 'movie'"),
    ("unknown_option", [*ACTION, "--bogus"], "unrecognized arguments: --bogus"),
]
CLIPS, OUT = ["--input_csv", "{header_data}/all_clips.csv"], ["--output_dir", "{root}/new_split"]
SPLIT_DATASET = [
    ("input_missing", ["--input_csv", "{root}/none.csv", *OUT], "--input_csv {root}/none.csv: no such file"),
    ("input_not_a_csv", ["--input_csv", "{root}/random.ckpt", *OUT], "random.ckpt: not a readable CSV"),
    ("input_no_path_column", ["--input_csv", "{root}/events.csv", *OUT], "missing column(s) path, label"),
    ("input_argument_missing", [*OUT], "the following arguments are required: --input_csv"),
    ("val_split_1_5", [*CLIPS, *OUT, "--val_split", "1.5"], "--val_split 1.5: must be between 0 and 1"),
    ("val_split_0", [*CLIPS, *OUT, "--val_split", "0"], "--val_split 0.0: must be between 0 and 1"),
    ("val_split_negative", [*CLIPS, *OUT, "--val_split", "-0.1"], "--val_split -0.1"),
    ("val_split_text", [*CLIPS, *OUT, "--val_split", "abc"], "argument --val_split: invalid float value"),
    ("seed_negative", [*CLIPS, *OUT, "--seed", "-1"], "argument --seed: -1: must be an integer >= 0"),
    ("output_is_a_file", [*CLIPS, "--output_dir", "{root}/a_file"], "a_file is a file, not a folder"),
    ("output_under_a_file", [*CLIPS, "--output_dir", "{root}/a_file/split"], "a_file is a file, not a folder"),
    ("root_dir_missing", [*CLIPS, *OUT, "--root_dir", "{root}/nope"], "--root_dir {root}/nope: no such folder"),
    ("clips_not_found", [*CLIPS, *OUT, "--root_dir", "{root}/empty_folder"], "clip(s) of"),
    ("group_column_missing", [*CLIPS, *OUT, "--group_col", "nope"], "--group_col nope: no such column"),
    ("unknown_option", [*CLIPS, *OUT, "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("name, base, extra, words", CHECK_DATASET, ids=[c[0] for c in CHECK_DATASET])
def test_check_dataset_bad_input(prior, cli, tmp_path, name, base, extra, words):
    repo_before = repo_entries()
    result = cli(fill([*base, *extra], prior), tmp_path, module="data_tools.check_dataset")
    assert_bad_input(result.returncode, result.stderr, fill([words], prior)[0], prior, tmp_path, repo_before)


@pytest.mark.parametrize("name, extra, words", CACHE_FEATURES, ids=[c[0] for c in CACHE_FEATURES])
def test_cache_features_bad_input(prior, cli, tmp_path, name, extra, words):
    repo_before = repo_entries()
    result = cli([*CLIP, f"dataset.root={prior['synthetic']}", *extra], tmp_path, module="data_tools.cache_features")
    assert_bad_input(result.returncode, result.stderr, words, prior, tmp_path, repo_before)


@pytest.mark.parametrize("tool, name, argv, words",
                         [("make_synthetic", *case) for case in MAKE_SYNTHETIC]
                         + [("split_dataset", *case) for case in SPLIT_DATASET],
                         ids=[f"make_synthetic-{c[0]}" for c in MAKE_SYNTHETIC]
                         + [f"split_dataset-{c[0]}" for c in SPLIT_DATASET])
def test_argparse_tool_bad_input(prior, tmp_path, capsys, tool, name, argv, words):
    import importlib

    main = importlib.import_module(f"data_tools.{tool}").main
    repo_before = repo_entries()
    capsys.readouterr()
    code = main(fill(argv, prior))
    assert_bad_input(code, capsys.readouterr().err, fill([words], prior)[0], prior, tmp_path, repo_before)


@pytest.mark.parametrize("base", [CHECK_CLIP, CHECK_HEADER], ids=["clip", "header"])
def test_the_check_dataset_base_command_lines_pass_the_checks(prior, tmp_path, base):
    from data_tools.check_dataset import check_output
    from src.core.command_line import check_command_line

    argv = [*fill(base, prior), f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"]
    assert check_command_line(argv, "check_dataset", after_resolve=[check_output]) == tmp_path / "o"
    assert sorted(tmp_path.iterdir()) == []
