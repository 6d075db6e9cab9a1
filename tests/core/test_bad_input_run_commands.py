"""`python -m src.evaluate`, `src.predict` and `src.detect`: every bad input (a key, a value, a damaged run folder,
a missing or wrong input file) is one `error:` line on stderr, exit code 2, no traceback, and nothing written
anywhere: no eval/ or output folder, no Hydra output folder, the prior runs byte-identical
(tests/core/bad_input_helpers.py). In-process through the `cli` fixture; one real process checks that nothing
else (library warnings, Lightning's log lines) reaches stderr."""
import os
import subprocess
import sys

import pytest

from tests.core.bad_input_helpers import REPO, assert_bad_input, fill, prior_workspace, repo_entries


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    return prior_workspace(tmp_path_factory, synthetic_root)


# The valid part of each command line; every case adds one bad part (or, for "…_bare", leaves one out).
BASES = {
    "evaluate": ["run={clip_run}", "trainer=cpu"],
    "evaluate_bare": ["trainer=cpu"],
    "evaluate_header": ["task=header", "run={header_run}", "trainer=cpu"],
    "evaluate_header_bare": ["task=header", "trainer=cpu"],
    "predict": ["run={clip_run}", "inputs={video}", "progress=false", "device=cpu"],
    "predict_bare": ["progress=false", "device=cpu"],
    "predict_header": ["run={header_run}", "inputs={header_data}", "progress=false", "device=cpu"],
    "detect": ["run={header_run}", "video={video}", "progress=false", "detect.device=cpu"],
    "detect_bare": ["progress=false", "detect.device=cpu"],
}

# (id, base, extra arguments ({placeholders} from `prior`), words the error line must contain)
EVALUATE = [
    ("typo_key", "evaluate", ["dataset.num_frame=4"], "did you mean dataset.num_frames"),
    ("unknown_method", "evaluate", ["method=nope"], "unknown method 'nope'"),
    ("unparsable", "evaluate", ["dataset.num_frames=[4"], "cannot parse"),
    ("split_train", "evaluate", ["split=train"], "split='train': must be one of test | val"),
    ("batch_size_0", "evaluate", ["dataset.batch_size=0"], "dataset.batch_size=0"),
    ("views_0", "evaluate", ["dataset.num_spatial_views=0"], "dataset.num_spatial_views=0"),
    ("devices_0", "evaluate", ["trainer.devices=0"], "trainer.devices=0"),
    ("seed_negative", "evaluate", ["seed=-1"], "seed=-1"),
    ("frames_of_a_fixed_model", "evaluate", ["dataset.num_frames=8"], "evaluate with dataset.num_frames=4"),
    ("no_run", "evaluate_bare", [], "run= is required for method=video_coop"),
    ("run_missing", "evaluate_bare", ["run={root}/models/nope"], "found neither"),
    ("run_not_a_run", "evaluate_bare", ["run={root}/empty_folder"], "is not a task=clip run folder"),
    ("config_json_unparsable", "evaluate_bare", ["run={clip_bad_json}"], "config.json: unreadable run config"),
    ("config_json_no_sections", "evaluate_bare", ["run={clip_no_sections}"], "not a task=clip run config"),
    ("checkpoint_missing", "evaluate_bare", ["run={clip_no_checkpoint}"], "checkpoint.pth: no checkpoint"),
    ("checkpoint_random", "evaluate_bare", ["run={clip_bad_checkpoint}"], "checkpoint.pth: not a readable PyTorch checkpoint"),
    ("zero_shot_dir_under_a_file", "evaluate_bare",
     ["method=zero_shot", "backbone=clip_tiny", "paths.models_dir={root}/a_file/models"], "a_file is a file"),
    ("header_backbone_clip", "evaluate_header", ["backbone=clip_tiny"], "task=header needs a backbone"),
    ("header_no_run", "evaluate_header_bare", [], "run= is required"),
    ("header_run_of_clip", "evaluate_header_bare", ["run={clip_run}"], "is a task=clip run, not task=header"),
    ("header_yaml_unparsable", "evaluate_header_bare", ["run={header_bad_yaml}"], "config.yaml: unreadable"),
    ("header_yaml_interpolation", "evaluate_header_bare", ["run={header_interpolation}"], "is an interpolation"),
    ("header_yaml_no_dataset", "evaluate_header_bare", ["run={header_no_dataset}"], "no dataset"),
    ("header_best_unparsable", "evaluate_header_bare", ["run={header_bad_best}"], "best_metrics.json: unreadable"),
    ("header_best_incomplete", "evaluate_header_bare", ["run={header_incomplete_best}"], "incomplete (KeyError"),
    ("header_checkpoint_missing", "evaluate_header_bare", ["run={header_no_checkpoint}"], "points at is missing"),
]
PREDICT = [
    ("top_k_negative", "predict", ["top_k=-1"], "top_k=-1: must be a positive integer"),
    ("top_k_0", "predict", ["top_k=0"], "top_k=0: must be a positive integer"),
    ("batch_size_0", "predict", ["batch_size=0"], "batch_size=0: must be a positive integer"),
    ("num_workers_negative", "predict", ["num_workers=-1"], "num_workers=-1"),
    ("device_tpu", "predict", ["device=tpu"], "device='tpu': must be auto, cpu, cuda or cuda:<index>"),
    ("device_absent_gpu", "predict", ["device=cuda:99"], "device=cuda:99: "),
    ("progress_maybe", "predict", ["progress=maybe"], "progress='maybe': must be true or false"),
    ("typo_key", "predict", ["topk=3"], "did you mean top_k"),
    ("unknown_task", "predict", ["task=nope"], "unknown task 'nope'"),
    ("inputs_missing", "predict", ["inputs={root}/nope.mp4"], "inputs={root}/nope.mp4: no such file or folder"),
    ("inputs_no_videos", "predict", ["inputs={root}/empty_folder"], "no files of type"),
    ("output_under_a_file", "predict", ["output={root}/a_file/out"], "output={root}/a_file/out: cannot create"),
    ("no_inputs", "predict_bare", ["run={clip_run}"], "inputs= is required"),
    ("no_run", "predict_bare", ["method=video_coop", "inputs={video}"], "run= is required for method=video_coop"),
    ("run_missing", "predict_bare", ["run={root}/nope", "inputs={video}"], "found neither"),
    ("run_config_unparsable", "predict_bare", ["run={clip_bad_json}", "inputs={video}"], "unreadable run config"),
    ("header_threshold_2", "predict_header", ["threshold=2"], "threshold=2: must be a probability"),
    ("header_start_negative", "predict_header", ["start=-1"], "start=-1"),
    ("header_best_unparsable", "predict_bare", ["run={header_bad_best}", "inputs={video}"], "best_metrics.json"),
    ("engine_unknown", "predict", ["engine=tensorrt"], "engine='tensorrt': must be one of torch | onnxruntime"),
    ("precision_fp16_on_cpu", "predict", ["precision=fp16"], "precision=fp16: half precision runs on a CUDA device"),
    ("onnxruntime_bf16", "predict", ["engine=onnxruntime", "precision=bf16"], "runs the fp32 export"),
    ("onnxruntime_no_export", "predict", ["engine=onnxruntime"], "no export of this run; run python -m src.export"),
    ("header_onnxruntime_no_export", "predict_header", ["engine=onnxruntime"], "no export of this run"),
    ("onnxruntime_zero_shot", "predict_bare", ["method=zero_shot", "backbone=clip_tiny", "classes=[a,b]", "inputs={video}",
                                               "engine=onnxruntime"], "export of a trained run: give run="),
]
DETECT = [
    ("no_run", "detect_bare", ["video={video}"], "run= is required"),
    ("no_video", "detect_bare", ["run={header_run}"], "video= is required"),
    ("video_missing", "detect", ["video={root}/nope.mp4"], "video={root}/nope.mp4: no such file"),
    ("video_not_a_video", "detect", ["video={root}/not_a_video.mp4"], "cannot be opened as a video"),
    ("events_missing", "detect", ["events_csv={root}/nope.csv"], "events_csv={root}/nope.csv: no such file"),
    ("events_no_frame_column", "detect", ["events_csv={root}/events_no_frame.csv"], "no `frame` column"),
    ("events_negative_frame", "detect", ["events_csv={root}/events_negative.csv"], "row 1: frame '-3'"),
    ("stride_0", "detect", ["detect.stride=0"], "detect.stride=0: must be a positive integer"),
    ("smoothing_even", "detect", ["detect.smoothing=2"], "detect.smoothing=2 must be an odd number"),
    ("threshold_2", "detect", ["detect.threshold=2"], "detect.threshold=2"),
    ("start_beyond_the_end", "detect", ["detect.start=999"], "detect.start=999: beyond the end"),
    ("end_before_start", "detect", ["detect.start=1", "detect.end=0.5"], "need 0 <= start < end"),
    ("device_tpu", "detect", ["detect.device=tpu"], "detect.device='tpu'"),
    ("resume_maybe", "detect", ["resume=maybe"], "resume='maybe'"),
    ("typo_key", "detect", ["detect.strid=2"], "did you mean detect.stride"),
    ("output_under_a_file", "detect", ["output_dir={root}/a_file"], "output_dir={root}/a_file: cannot create"),
    ("run_of_clip", "detect_bare", ["run={clip_run}", "video={video}"], "task=clip has no detect"),
    ("run_checkpoint_missing", "detect_bare", ["run={header_no_checkpoint}", "video={video}"], "is missing"),
    ("precision_fp16_on_cpu", "detect", ["detect.precision=fp16"], "detect.precision=fp16: half precision"),
    ("onnxruntime_no_export", "detect", ["detect.engine=onnxruntime"], "no export of this run; run python -m src."),
]
CASES = [(f"{base.split('_')[0]}-{name}", base, extra, words)
         for cases in (EVALUATE, PREDICT, DETECT) for name, base, extra, words in cases]


@pytest.mark.parametrize("name, base, extra, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(prior, cli, tmp_path, name, base, extra, words):
    repo_before = repo_entries()
    result = cli(fill([*BASES[base], *extra], prior), tmp_path, module=f"src.{base.split('_')[0]}")
    assert_bad_input(result.returncode, result.stderr, fill([words], prior)[0], prior, tmp_path, repo_before)


@pytest.mark.parametrize("base", ["evaluate", "evaluate_header", "predict", "predict_header", "detect"])
def test_the_base_command_lines_pass_the_checks(prior, tmp_path, base):
    """The cases above fail for their one bad part: the rest of each command line is fine."""
    import importlib

    module = importlib.import_module(f"src.{base.split('_')[0]}")
    argv = [*fill(BASES[base], prior), f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"]
    assert module.check_command(argv) == tmp_path / "o"
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.slow  # a second real process (test_bad_input_train.py keeps one in make test): make test-all
def test_a_real_process_prints_nothing_but_the_error_line(prior, tmp_path):
    """Outside pytest's capture: no FutureWarning from the header model's imports, no library log lines."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, "-m", "src.detect", f"run={prior['header_run']}", f"video={tmp_path}/x.mp4",
                           f"paths.root_dir={tmp_path}", f"hydra.run.dir={tmp_path}/o"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr == f"error: video={tmp_path}/x.mp4: no such file; pass the path of a " \
                                                   "match video (.mp4, .avi, …)\n", proc.stderr
    assert sorted(tmp_path.iterdir()) == []
