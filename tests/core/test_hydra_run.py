"""run_hydra (src/core/hydra_run.py) with stand-ins for an entry point's @hydra.main function: Hydra's and
OmegaConf's own errors are one `error:` line and exit 2, and a job that stops on bad input (exit 2) after Hydra
made its output folder leaves no folder behind, while anything else stays."""
import os
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from src.core.hydra_run import run_hydra


def _hydra_job(folder: Path, *, extra: str | None = None, exit_code: int | None = 2):
    """A stand-in hydra_main: writes what Hydra writes (+ `extra`), then exits with `exit_code`."""
    def hydra_main():
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "config.yaml").write_text("a: 1\n")
        (folder / "train.log").write_text("started\n")
        if extra:
            (folder / extra).write_text("{}")
        if exit_code is not None:
            sys.exit(exit_code)
    return hydra_main


def _run(hydra_main, output_dir: Path | None) -> int:
    with pytest.raises(SystemExit) as exit_:
        run_hydra(hydra_main, output_dir)
    return exit_.value.code


def test_a_job_stopped_on_bad_input_leaves_no_hydra_folder(tmp_path):
    (tmp_path / "before").mkdir()
    folder = tmp_path / "outputs" / "2026-01-01" / "12-00-00"
    assert _run(_hydra_job(folder), output_dir=folder) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["before"]


def test_a_folder_holding_more_than_hydra_files_or_a_job_not_stopped_by_bad_input_stays(tmp_path):
    folder = tmp_path / "a" / "run"
    assert _run(_hydra_job(folder, extra="result.json"), output_dir=folder) == 2
    assert (folder / "result.json").is_file() and (folder / ".hydra" / "config.yaml").is_file()
    other = tmp_path / "b" / "run"
    assert _run(_hydra_job(other, exit_code=1), output_dir=other) == 1
    assert (other / "train.log").is_file()
    run_hydra(_hydra_job(tmp_path / "c", exit_code=None), output_dir=tmp_path / "c")
    assert (tmp_path / "c" / "train.log").is_file()


def test_an_existing_folder_and_what_was_in_it_stay(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.log").write_text("kept\n")
    assert _run(_hydra_job(tmp_path / "run"), output_dir=tmp_path / "run") == 2
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["old.log"]  # .hydra and train.log are new


@pytest.mark.parametrize("error, words", [
    (ConfigCompositionException("Could not override 'x'.\nTo append to your config use +x=1"),
     "error: Could not override 'x'.; To append to your config use +x=1"),
    (None, "error: config key run_dir: Interpolation key 'nope' not found"),
])
def test_hydra_and_omegaconf_errors_are_one_line_exit_2(tmp_path, capsys, error, words):
    def hydra_main():
        if error is not None:
            raise error
        cfg = OmegaConf.create({"run_dir": "${nope}"})
        cfg.run_dir  # noqa: B018  (resolving it raises InterpolationKeyError)

    previous = os.environ.get("HYDRA_FULL_ERROR")
    assert _run(hydra_main, output_dir=None) == 2
    err = capsys.readouterr().err
    assert err.startswith(words) and len(err.splitlines()) == 1, err
    assert os.environ.get("HYDRA_FULL_ERROR") == previous  # put back
