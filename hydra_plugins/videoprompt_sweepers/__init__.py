"""This project's Hydra plugins. Hydra takes a plugin only from the `hydra_plugins` namespace package, so the
sweeper lives here, as a thin class; its work is in src/core/optuna_sweeper.py."""
