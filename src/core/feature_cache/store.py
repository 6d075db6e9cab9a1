"""FeatureStore: one namespace of the on-disk feature cache, one `.npy` entry per file.

    <cache_dir>/frame_features/<namespace key>/<entry key>.npy     the features of one file, float32
    <cache_dir>/frame_features/<namespace key>/namespace.json     what the namespace key hashes (for people)

(The folder is called frame_features for both tasks: it was CLIP's frame features first, and renaming it would
orphan existing caches.) Entries are written through src/core/atomic.py (temp file + rename): concurrent writers
(DDP ranks, workers) leave one complete entry, and a crash leaves none. A read checks shape and dtype; an
unreadable, truncated or mis-shaped entry counts as missing.
"""
import logging
from pathlib import Path

import numpy as np
import torch

from src.core.atomic import save_numpy, write_json
from src.core.feature_cache.keys import entry_key, namespace_key, namespace_record
from src.core.npy_files import NpyReadError, open_npy

log = logging.getLogger(__name__)


class FeatureStore:
    def __init__(self, cache_dir: Path, namespace: dict):
        self.key = namespace_key(namespace)
        self.dir = Path(cache_dir) / "frame_features" / self.key
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "namespace.json").is_file():
            write_json(self.dir / "namespace.json", namespace_record(namespace))

    def entry(self, file: Path) -> Path:
        return self.dir / f"{entry_key(file)}.npy"

    def load(self, file: Path, shape: tuple[int, ...]) -> np.ndarray | None:
        """The cached features of `file` (an array of `shape`), or None when absent, stale or unreadable."""
        path = self.entry(file)
        if not path.is_file():
            return None
        try:
            array = open_npy(path)  # memory-mapped: a damaged header fails here, before anything is allocated
        except NpyReadError as err:
            log.warning("feature cache: %s: rebuilding it", err)
            return None
        if array.shape != tuple(shape) or array.dtype != np.float32:
            log.warning("feature cache: %s has shape %s %s, expected %s float32: rebuilding it",
                        path.name, array.shape, array.dtype, tuple(shape))
            return None
        try:
            return np.array(array)  # an in-memory copy: the map would keep the file open
        except (OSError, ValueError) as err:
            log.warning("feature cache: %s cannot be read (%s): rebuilding it", path.name, err)
            return None

    def save(self, file: Path, features: torch.Tensor) -> None:
        save_numpy(self.entry(file), features.detach().to("cpu", torch.float32).numpy())
