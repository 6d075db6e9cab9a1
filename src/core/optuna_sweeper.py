"""Hydra's Optuna sweeper with a study that outlives the command (the plugin class Hydra loads:
hydra_plugins/videoprompt_sweepers/optuna_sweeper.py). `hydra.sweeper.storage` (an sqlite file in the sweep folder by
default, conf/hparams_search/*_optuna.yaml) holds every trial, and a second run of the same search continues the
study: its trials come after the earlier ones, and the best is the best over all of them.

What was broken: the locked optuna 2.10.1 (hydra-optuna-sweeper 1.3.0 needs optuna < 3) stamps the alembic schema
version of a new RDB storage on `engine.connect()` without committing; SQLAlchemy 1.x committed it by itself
("autocommit"), the locked SQLAlchemy 2.x rolls it back when the connection closes. Optuna then reads no version and
fails with a bare `AssertionError` (hydra issue #2562). No SQLAlchemy 1.x is available offline, so instead of a pin
`rdb_storage` stamps the version itself inside `engine.begin()` (which commits under SQLAlchemy 1.4 and 2.x alike)
before optuna opens the file; optuna then finds it stamped, writes no stamp of its own and its compatibility check
passes. Everything else optuna does with the storage goes through ORM sessions that commit explicitly, which
SQLAlchemy 2 keeps working (tests/core/test_optuna_sweeper.py runs a study twice on one file).

The plugin also numbers the jobs of every run from 0, so a continued search would write its trials into the first
run's job folders; here the jobs are numbered by trial (job N = trial N), so every trial keeps its own folder and the
sweep summary lists them all.
"""
from pathlib import Path

import alembic.config
import alembic.migration
import alembic.script
import optuna
import sqlalchemy
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl

SQLITE = "sqlite:///"


def rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage at `url` (created when new), its schema version stamped and committed first (see above)."""
    if url.startswith(SQLITE):  # sqlite makes the file, not its folder (the sweep folder may not exist yet)
        Path(url[len(SQLITE):]).parent.mkdir(parents=True, exist_ok=True)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:  # begin(): commits the stamp on SQLAlchemy 1.4 and 2 alike
            context = alembic.migration.MigrationContext.configure(connection)
            if context.get_current_revision() is None:
                script = _optuna_alembic_script()
                context.stamp(script, script.get_current_head())
    finally:
        engine.dispose()  # closed before optuna opens the file: sqlite allows one writer
    return optuna.storages.RDBStorage(url)  # finds the version stamped: no write of its own, its check passes


def _optuna_alembic_script() -> alembic.script.ScriptDirectory:
    """Optuna's schema migrations (shipped inside optuna), as its own storage code finds them."""
    config = alembic.config.Config()
    config.set_main_option("script_location", str(Path(optuna.storages._rdb.storage.__file__).parent / "alembic"))
    return alembic.script.ScriptDirectory.from_config(config)


class ResumableOptunaSweeperImpl(OptunaSweeperImpl):
    def sweep(self, arguments: list[str]) -> None:
        if isinstance(self.storage, str):
            self.storage = rdb_storage(self.storage)
        if self.storage is not None and self.study_name is not None:
            earlier = _trial_count(self.storage, self.study_name)
            self.job_idx = earlier  # setup() set 0: trial N of the study runs as job N, after the earlier ones
        return super().sweep(arguments)


def _trial_count(storage: optuna.storages.BaseStorage, study_name: str) -> int:
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:  # a new study
        return 0
    return len(storage.get_all_trials(study_id, deepcopy=False))

