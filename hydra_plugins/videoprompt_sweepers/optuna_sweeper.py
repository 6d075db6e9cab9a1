"""`hydra.sweeper._target_: hydra_plugins.videoprompt_sweepers.optuna_sweeper.OptunaSweeper` (conf/hparams_search):
the Optuna sweeper plugin's config keys and behaviour, with a storage that works under the locked SQLAlchemy and
a study that a second run continues (src/core/optuna_sweeper.py says what was broken)."""
from hydra.plugins.sweeper import Sweeper
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper as PluginOptunaSweeper


class OptunaSweeper(PluginOptunaSweeper):
    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate, search_space,
                 custom_search_space, params) -> None:
        # Imported here: Hydra imports every plugin module at start-up, and this one pulls in optuna.
        from src.core.optuna_sweeper import ResumableOptunaSweeperImpl

        Sweeper.__init__(self)
        self.sweeper = ResumableOptunaSweeperImpl(sampler, direction, storage, study_name, n_trials, n_jobs,
                                                  max_failure_rate, search_space, custom_search_space, params)
