"""run.json, every run folder's manifest (src/core/manifest.py): written by src.train, refreshed when the run ends,
read first by the tools (src/tasks.py), with folders from before it still loading by their files."""
import json
import shutil

import pytest

from src.core.errors import UserError
from src.core.manifest import read_manifest
from src.tasks import follow_run_task, run_task, task_of_run
from tests.core.bad_input_helpers import prior_workspace


@pytest.fixture(scope="module")
def prior(tmp_path_factory, synthetic_root) -> dict:
    return prior_workspace(tmp_path_factory, synthetic_root)


def test_a_finished_clip_run_says_what_it_is_and_where_its_files_are(prior):
    manifest = read_manifest(prior["clip_run"])
    assert manifest["task"] == "clip" and manifest["run_id"] == "prior" and manifest["status"] == "finished"
    assert (manifest["method"], manifest["backbone"], manifest["dataset"]) == ("video_coop", "clip-tiny", "ucf101")
    assert manifest["files"]["best_weights"] == "checkpoint.pth" and manifest["files"]["config"] == "config.json"
    assert all((prior["clip_run"] / name).exists() for name in manifest["files"].values())
    assert manifest["versions"]["torch"] and manifest["created"] <= manifest["finished"]


def test_a_finished_header_run_names_its_best_epochs_weights(prior):
    manifest = read_manifest(prior["header_run"])
    assert manifest["task"] == "header" and manifest["status"] == "finished"
    assert manifest["files"]["best_weights"] == f"checkpoints/{prior['header_best'].name}"
    assert manifest["files"]["best_metrics"] == "best_metrics.json" and manifest["finetune"]


def test_the_task_of_a_run_comes_from_its_manifest_first(prior, tmp_path):
    paths = {"models_dir": prior["root"] / "models", "report_dir": prior["root"] / "report/header_experiments"}
    assert task_of_run(str(prior["clip_run"]), paths) == "clip"
    assert task_of_run("prior", paths) == "header"            # a name: looked up under each task's runs folder
    assert task_of_run(str(tmp_path), paths) is None
    odd = tmp_path / "odd"
    shutil.copytree(prior["clip_run"], odd)
    manifest = json.loads((odd / "run.json").read_text())
    (odd / "run.json").write_text(json.dumps({**manifest, "task": "header"}))
    assert run_task(odd) == "header"                           # the manifest wins over the files


def test_a_folder_from_before_the_manifest_is_recognised_by_its_files(prior, tmp_path):
    for name in ("clip_run", "header_run"):
        old = tmp_path / name
        shutil.copytree(prior[name], old)
        (old / "run.json").unlink()
        assert run_task(old) == ("clip" if name == "clip_run" else "header")


def test_a_damaged_manifest_is_one_line(prior, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(prior["clip_run"], broken)
    (broken / "run.json").write_text("{nope")
    with pytest.raises(UserError, match="run.json: unreadable run manifest"):
        read_manifest(broken)
    (broken / "run.json").write_text(json.dumps({"task": "clip"}))
    with pytest.raises(UserError, match="not a run manifest of this project"):
        read_manifest(broken)


def test_predict_and_evaluate_follow_the_runs_task(prior):
    root = f"paths.root_dir={prior['root']}"
    assert follow_run_task([root, f"run={prior['header_run']}", "inputs=x"], "predict")[-1] == "task=header"
    assert follow_run_task([root, f"run={prior['clip_run']}"], "evaluate") == [root, f"run={prior['clip_run']}"]
    with pytest.raises(UserError, match="is a task=header run, not task=clip"):
        follow_run_task([root, f"run={prior['header_run']}", "task=clip"], "evaluate")


def test_an_old_run_folder_still_predicts(prior, cli, tmp_path):
    """A header run folder without run.json (made by today's code, the manifest removed) still loads."""
    old = tmp_path / "old_header_run"
    shutil.copytree(prior["header_run"], old)
    (old / "run.json").unlink()
    result = cli([f"run={old}", f"inputs={prior['header_data']}", "progress=false", "device=cpu",
                  f"output={tmp_path}/predictions"], tmp_path, module="src.predict")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "predictions" / "predictions.csv").is_file()
