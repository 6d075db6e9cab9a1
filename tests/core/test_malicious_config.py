"""A run folder is data, never code: every command that reads one (src.evaluate and src.predict of both tasks,
src.detect, src.train continue_from= / ckpt_path=) is given a run folder with a payload planted in every section
of its config (config.json / config.yaml), its checkpoint's meta config and last.ckpt's hyper-parameters.

The payloads are live: a Hydra `_target_` that creates a marker folder when instantiated, and an `${pwn:}`
interpolation whose resolver creates it when resolved (`test_the_payloads_are_live`). A section the command reads
is refused with one `error:` line naming the file and the key, exit 2; a section it never reads is left alone and
the command succeeds. In no case is the marker created.
"""
import datetime
import json
import os
import shutil
from pathlib import Path

import hydra
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from src.clip.run_loading import RUN_SECTIONS as CLIP_SECTIONS
from src.header.run_loading import RUN_SECTIONS as HEADER_SECTIONS
from src.synthetic.match_video import render_match_video
from src.train import train
from tests.composed import compose_config
from tests.core.bad_input_helpers import one_error_line

MARKER: dict[str, Path | None] = {"path": None}   # where the payloads of the current case would write


def _pwn() -> str:
    os.makedirs(MARKER["path"], exist_ok=True)
    return "pwned"


def target_payload() -> dict:
    return {"_target_": "os.makedirs", "name": str(MARKER["path"]), "exist_ok": True}


INTERPOLATIONS = ("${pwn:}", "${oc.env:HOME}")
CLIP_DATA = ["method=video_coop", "dataset=ucf101"]   # + the tiny_clip_run fixture's settings
HEADER_DATA = ["experiment=header_demo", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
               "dataset.synthetic.size=32", "~callbacks.progress_bar", "logger=csv"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, synthetic_root, tiny_clip_run) -> dict:
    """A finished 1-epoch tiny clip run and header run (in-process), a match video, input files."""
    root = tmp_path_factory.mktemp("malicious")
    OmegaConf.register_new_resolver("pwn", _pwn, replace=True)
    threads = torch.get_num_threads()
    clip_args = [*CLIP_DATA, *tiny_clip_run, f"dataset.root={synthetic_root}"]
    train(compose_config([*clip_args, "trainer.max_epochs=1", "run_id=base"], root))
    train(compose_config([*HEADER_DATA, "trainer.max_epochs=1", "run_name=base"], root))
    torch.set_num_threads(threads)
    render_match_video(root / "match.mp4", seed=5, duration_s=4, fps=10, size=32)
    header_data = root / "data/synthetic/header"
    videos = root / "videos"
    videos.mkdir()
    for video in sorted(p for p in synthetic_root.rglob("*") if p.suffix in (".avi", ".mp4"))[:2]:
        shutil.copy(video, videos / video.name)
    clips = root / "clips"
    clips.mkdir()
    for clip in sorted((header_data / "clips").glob("*.npy"))[:2]:
        shutil.copy(clip, clips / clip.name)
    yield {"clip": root / "models/video_coop/ucf101/base", "header": root / "report/header_experiments/base",
           "synthetic": synthetic_root, "val_csv": header_data / "val.csv", "match": root / "match.mp4",
           "videos": videos, "clips": clips, "tiny": list(tiny_clip_run), "clip_args": clip_args}
    OmegaConf.clear_resolver("pwn")


@pytest.fixture(autouse=True)
def marker(tmp_path) -> Path:
    MARKER["path"] = tmp_path / "PWNED"
    yield MARKER["path"]
    assert not MARKER["path"].exists(), "a payload from the run folder was executed"


# ---- planting ---------------------------------------------------------------------------------------------
def _plant(config: dict, section: str, payload) -> None:
    """The payload as a new key of the section (a dict), or in place of its value (a number, a string)."""
    if isinstance(config[section], dict):
        config[section]["pwned"] = payload
    else:
        config[section] = payload


def _plant_everywhere_but(config: dict, read: tuple[str, ...]) -> None:
    """Payloads in every section nothing reads: a `_target_` (nested too, as trainer.plugins) and `${pwn:}`."""
    for section in [s for s in config if s not in read]:
        if isinstance(config[section], dict):
            config[section]["pwned"] = target_payload()
            config[section]["pwned_text"] = INTERPOLATIONS[0]
        else:
            config[section] = target_payload()
    config.setdefault("trainer", {})["plugins"] = target_payload()


def _edit_config(run: Path, edit) -> Path:
    path = run / ("config.json" if (run / "config.json").is_file() else "config.yaml")
    config = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(json.dumps(config) if path.suffix == ".json" else yaml.safe_dump(config))
    return path


def _edit_torch(path: Path, edit) -> None:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    edit(payload)
    torch.save(payload, path)


def _header_weights(run: Path) -> Path:
    return run / json.loads((run / "best_metrics.json").read_text())["checkpoint"]


# ---- the commands that read run folders ---------------------------------------------------------------------
def _clip_evaluate(cli, runs, run, tmp):
    return cli([f"run={run}", *runs["tiny"]], tmp, module="src.evaluate")


def _clip_predict(cli, runs, run, tmp):
    return cli([f"run={run}", f"inputs={runs['videos']}", f"output={tmp}/out", "progress=false"], tmp,
               module="src.predict")


def _header_evaluate(cli, runs, run, tmp):
    return cli(["task=header", f"run={run}", f"dataset.val_csv={runs['val_csv']}", "trainer=cpu"], tmp,
               module="src.evaluate")


def _header_predict(cli, runs, run, tmp):
    return cli([f"run={run}", f"inputs={runs['clips']}", f"output={tmp}/out", "progress=false"], tmp,
               module="src.predict")


def _detect(cli, runs, run, tmp):
    return cli([f"run={run}", f"video={runs['match']}", "progress=false"], tmp, module="src.detect")


# What each reader writes when it succeeds: (run copy, the case's folder) -> the file or folder.
OUTPUTS = {"clip evaluate": lambda run, tmp: run / "eval", "clip predict": lambda run, tmp: tmp / "out/predictions.csv",
           "header evaluate": lambda run, tmp: run / "eval",
           "header predict": lambda run, tmp: tmp / "out/predictions.csv",
           "detect": lambda run, tmp: tmp / "detections/match/summary.json"}
CLIP_READERS = {"clip evaluate": _clip_evaluate, "clip predict": _clip_predict}
HEADER_READERS = {"header evaluate": _header_evaluate, "header predict": _header_predict, "detect": _detect}
READ_CASES = ([("clip", name, section) for name in CLIP_READERS for section in CLIP_SECTIONS]
              + [("header", name, section) for name in HEADER_READERS for section in HEADER_SECTIONS])


def _copy(runs: dict, task: str, tmp_path: Path) -> Path:
    run = tmp_path / "runs" / task
    shutil.copytree(runs[task], run)
    return run



def test_the_payloads_are_live(runs, marker):
    """What the other tests plant would run if anything instantiated or resolved it."""
    hydra.utils.instantiate(target_payload())
    assert marker.is_dir()
    marker.rmdir()
    assert OmegaConf.create({"x": INTERPOLATIONS[0]}).x == "pwned" and marker.is_dir()
    marker.rmdir()


# A `_target_` in every section each command reads; the interpolations (refused by the same check of every string)
# in the one section every command reads, `dataset`.
PAYLOAD_CASES = ([(*case, "target") for case in READ_CASES]
                 + [(task, command, "dataset", payload) for task, command, read in READ_CASES
                    for payload in INTERPOLATIONS if read == "dataset"])


@pytest.mark.parametrize("task, command, section, payload", PAYLOAD_CASES,
                         ids=[f"{c}-{s}-{p}" for _, c, s, p in PAYLOAD_CASES])
def test_a_payload_in_a_section_that_is_read_is_refused(runs, cli, tmp_path, task, command, section, payload):
    run = _copy(runs, task, tmp_path)
    planted = target_payload() if payload == "target" else payload
    path = _edit_config(run, lambda config: _plant(config, section, planted))
    before = path.read_bytes()
    result = {**CLIP_READERS, **HEADER_READERS}[command](cli, runs, run, tmp_path)
    one_error_line(result, f"{path}: {section}", "data, not code")
    assert path.read_bytes() == before and not (run / "eval").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", list(CLIP_READERS))
def test_a_payload_in_the_checkpoints_dataset_config_is_refused(runs, cli, tmp_path, command):
    """checkpoint.pth's meta.config.dataset (the frame count the model was trained with) is read too."""
    run = _copy(runs, "clip", tmp_path)
    _edit_torch(run / "checkpoint.pth", lambda p: _plant(p["meta"]["config"], "dataset", target_payload()))
    result = CLIP_READERS[command](cli, runs, run, tmp_path)
    one_error_line(result, str(run / "checkpoint.pth"), "meta.config", "dataset.pwned._target_", "data, not code")


@pytest.mark.parametrize("command", [*CLIP_READERS, *HEADER_READERS])
def test_payloads_in_sections_nobody_reads_stay_unread(runs, cli, tmp_path, command):
    task = "clip" if command in CLIP_READERS else "header"
    run = _copy(runs, task, tmp_path)
    _edit_config(run, lambda config: _plant_everywhere_but(config, CLIP_SECTIONS if task == "clip" else HEADER_SECTIONS))
    if task == "clip":  # the checkpoint's meta config: only its dataset section is read
        _edit_torch(run / "checkpoint.pth", lambda p: _plant_everywhere_but(p["meta"]["config"], ("dataset",)))
    else:  # the best weights' copy of the config is never read
        _edit_torch(_header_weights(run), lambda p: _plant_everywhere_but(p["config"], ()))
    result = {**CLIP_READERS, **HEADER_READERS}[command](cli, runs, run, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert OUTPUTS[command](run, tmp_path).exists(), result.stdout[-2000:]


def test_best_metrics_cannot_point_outside_the_run_folder(runs, cli, tmp_path):
    run = _copy(runs, "header", tmp_path)
    best = json.loads((run / "best_metrics.json").read_text())
    outside = tmp_path / "elsewhere.pt"
    shutil.copy(_header_weights(run), outside)
    for pointer in (str(outside), "../../elsewhere.pt", "checkpoints/../../../elsewhere.pt"):
        (run / "best_metrics.json").write_text(json.dumps({**best, "checkpoint": pointer}))
        one_error_line(_header_evaluate(cli, runs, run, tmp_path), str(run / "best_metrics.json"), repr(pointer))


def _hyper_parameter_payloads(ckpt: dict) -> None:
    """A payload in every hyper-parameter section (class_names / class_counts tell the task: kept)."""
    hparams = ckpt["hyper_parameters"]
    for key in [k for k in hparams if k not in ("class_names", "class_counts")]:
        _plant(hparams, key, target_payload())
    hparams["optimizer"] = target_payload()   # what configure_optimizers instantiates, were it taken from here
    hparams["scheduler"] = target_payload()


def _no_payload(value) -> bool:
    return "pwned" not in json.dumps(value, default=str) and str(MARKER["path"]) not in json.dumps(value, default=str)


@pytest.mark.parametrize("task", ["clip", "header"])
def test_resume_takes_its_hyper_parameters_from_the_command_line(runs, cli, tmp_path, task):
    """ckpt_path=<copy>/last.ckpt with payloads in last.ckpt's hyper-parameters and in every section of the run's
    config: one more epoch trains; the optimizer is built from the command line's config (configure_optimizers
    instantiates the module's hparams, which come from the composed config, never from the checkpoint)."""
    run = _copy(runs, task, tmp_path)
    _edit_torch(run / "last.ckpt", _hyper_parameter_payloads)
    _edit_config(run, lambda config: _plant_everywhere_but(config, ()))
    data = (runs["clip_args"] if task == "clip"
            else [*HEADER_DATA, f"dataset.root={runs['val_csv'].parent}"])  # the fixture's clips
    result = cli([*data, f"ckpt_path={run / 'last.ckpt'}", "trainer.max_epochs=2"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)
    assert resumed["epoch"] == 1 and _no_payload(resumed["hyper_parameters"])
    expected = compose_config([*data, "trainer.max_epochs=2"], tmp_path)
    assert resumed["hyper_parameters"]["optimizer"] == OmegaConf.to_container(expected.optimizer)


def test_continue_from_reads_only_the_learned_tensors(runs, cli, tmp_path):
    """continue_from=<copy> with payloads in every section of the run's config.json and of checkpoint.pth's
    meta.config: neither is read (the learned tensors and the class names are)."""
    run = _copy(runs, "clip", tmp_path)
    _edit_config(run, lambda config: _plant_everywhere_but(config, ()))
    _edit_torch(run / "checkpoint.pth", lambda p: _plant_everywhere_but(p["meta"]["config"], ()))
    result = cli([*runs["clip_args"], "trainer.max_epochs=1", "run_id=continued",
                  f"continue_from={run}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "models/video_coop/ucf101/continued/config.json").read_text())
    assert _no_payload(config) and config["continue_from"] == str(run)


def test_a_run_config_that_is_not_plain_data_is_one_line(runs, cli, tmp_path):
    """YAML that is not JSON data (a date, a Python tag) and a config that is not a mapping."""
    run = _copy(runs, "header", tmp_path)
    path = run / "config.yaml"
    original = path.read_text()
    config = yaml.safe_load(original)
    config["dataset"]["made"] = datetime.date(2024, 1, 1)  # written unquoted: YAML reads it back as a date
    path.write_text(yaml.safe_dump(config))
    one_error_line(_header_evaluate(cli, runs, run, tmp_path), str(path), "dataset.made", "date")
    path.write_text(original + "\nextra: !!python/object/apply:os.makedirs ['" + str(MARKER["path"]) + "']\n")
    one_error_line(_header_evaluate(cli, runs, run, tmp_path), str(path), "unreadable run config")
    path.write_text("- just\n- a list\n")
    one_error_line(_header_evaluate(cli, runs, run, tmp_path), str(path), "not a task=header run config")
    clip = _copy(runs, "clip", tmp_path)
    (clip / "config.json").write_text(json.dumps({"seed": 0}))
    one_error_line(_clip_evaluate(cli, runs, clip, tmp_path), str(clip / "config.json"), "no method")
