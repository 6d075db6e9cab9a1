"""The Optuna storage the sweeper uses: an sqlite file that works under the locked SQLAlchemy and that a second run
continues (src/core/optuna_sweeper.py)."""
import optuna
import pytest

from src.core.optuna_sweeper import _trial_count, rdb_storage


def test_a_study_in_an_sqlite_file_is_continued_by_a_second_run(tmp_path):
    url = f"sqlite:///{tmp_path}/sweep/not/made/yet/optuna.db"  # the folder is made
    for run in range(2):
        study = optuna.create_study(storage=rdb_storage(url), study_name="s", direction="maximize", load_if_exists=True)
        assert _trial_count(rdb_storage(url), "s") == 2 * run  # what the sweeper numbers its jobs after
        study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=2)
    again = optuna.load_study(study_name="s", storage=rdb_storage(url))
    values = [t.value for t in again.trials]
    assert [t.number for t in again.trials] == [0, 1, 2, 3] and again.best_value == pytest.approx(max(values))


def test_a_new_study_has_no_earlier_trials(tmp_path):
    assert _trial_count(rdb_storage(f"sqlite:///{tmp_path}/optuna.db"), "new") == 0
