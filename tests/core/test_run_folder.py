"""`run=…` as a folder path or a name under the runs folder: the folder is found, or one line says what is wrong."""
import pytest

from src.core.errors import UserError
from src.core.run_folder import find_run_folder

NEEDS = ("config.yaml", "best_metrics.json")


def _run(folder):
    folder.mkdir(parents=True)
    for name in NEEDS:
        (folder / name).write_text("{}")
    return folder


def test_a_name_under_the_runs_folder_or_a_path_finds_the_run(tmp_path, monkeypatch):
    runs = tmp_path / "report"
    run = _run(runs / "a" / "b")
    assert find_run_folder("a/b", runs, NEEDS, "task=header", "the name") == run
    assert find_run_folder(str(run), tmp_path / "elsewhere", NEEDS, "task=header", "the name") == run
    monkeypatch.chdir(tmp_path)
    local = _run(tmp_path / "a" / "b")                         # a relative path wins over the name
    assert find_run_folder("a/b", runs, NEEDS, "task=header", "the name").resolve() == local


def test_a_folder_without_the_run_files_or_no_folder_is_one_clear_error(tmp_path):
    runs = tmp_path / "report"
    (runs / "half").mkdir(parents=True)
    (runs / "half" / "config.yaml").write_text("{}")
    with pytest.raises(UserError, match=r"run=half: .*half is not a task=header run folder \(needs config.yaml "
                                         r"and best_metrics.json\)"):
        find_run_folder("half", runs, NEEDS, "task=header", "the name")
    with pytest.raises(UserError, match=r"run=nope: found neither the folder nope nor .*report/nope"):
        find_run_folder("nope", runs, NEEDS, "task=header", "the name")
