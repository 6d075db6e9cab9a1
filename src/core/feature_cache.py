"""On-disk cache of per-frame embeddings of a frozen image tower: one `.npy` per video.

    <cache_dir>/frame_features/<namespace key>/<video key>.npy     (V, T, E) float32
    <cache_dir>/frame_features/<namespace key>/namespace.json     what the namespace key hashes (for people)

The namespace key hashes everything that changes the features apart from the video: backbone name and a hash of
its image-tower weights, image size, normalisation, frame sampling and views. The video key hashes the video's
resolved path, size and modification time, so an edited or replaced video misses the cache. Entries are written
to a temp file and renamed (atomic): concurrent writers (DDP ranks, workers) leave one complete entry, and a
crash leaves none. A read checks shape and dtype; an unreadable or truncated entry is treated as missing.
"""
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from src.core.atomic import write_json

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


def weights_hash(module: nn.Module) -> str:
    """SHA-1 of a module's parameters and buffers (names, shapes, dtypes and bytes)."""
    digest = hashlib.sha1()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


class FrameFeatureCache:
    def __init__(self, cache_dir: Path, namespace: dict):
        text = json.dumps({"format": CACHE_FORMAT, **namespace}, sort_keys=True, default=str)
        self.key = hashlib.sha1(text.encode()).hexdigest()[:20]
        self.dir = Path(cache_dir) / "frame_features" / self.key
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "namespace.json").is_file():
            write_json(self.dir / "namespace.json", json.loads(text))

    def entry(self, video: Path) -> Path:
        stat = Path(video).stat()
        ident = f"{Path(video).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        return self.dir / f"{hashlib.sha1(ident.encode()).hexdigest()}.npy"

    def load(self, video: Path, shape: tuple[int, ...]) -> np.ndarray | None:
        """The cached (V, T, E) features of `video`, or None when absent, stale or unreadable."""
        try:
            path = self.entry(video)
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if array.shape != tuple(shape) or array.dtype != np.float32:
            log.warning("feature cache: %s has shape %s %s, expected %s float32: rebuilding it",
                        path.name, array.shape, array.dtype, tuple(shape))
            return None
        return array

    def save(self, video: Path, features: torch.Tensor) -> None:
        array = features.detach().to("cpu", torch.float32).numpy()
        target = self.entry(video)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
            os.replace(tmp, target)  # atomic: readers see the old entry or the whole new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
