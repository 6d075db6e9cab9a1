"""The keys of the feature cache.

namespace key — a hash of everything but the file that changes the features (network name, a hash of its weights,
                frame sampling, transform…), given by the task, plus the cache format.
entry key     — a hash of the file's resolved path, size and modification time, so an edited or replaced file
                misses the cache.
"""
import hashlib
import json
from pathlib import Path

import torch
from torch import nn

CACHE_FORMAT = 1


def weights_hash(module: nn.Module) -> str:
    """SHA-1 of a module's structure (its repr: layers and activations) and its parameters and buffers (names,
    shapes, dtypes and bytes). The repr matters: the same weights with GELU or QuickGELU give other features."""
    digest = hashlib.sha1(repr(module).encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def namespace_record(namespace: dict) -> dict:
    """What the namespace key hashes: the task's namespace plus the cache format (JSON-normalised)."""
    return json.loads(_canonical({"format": CACHE_FORMAT, **namespace}))


def namespace_key(namespace: dict) -> str:
    return hashlib.sha1(_canonical({"format": CACHE_FORMAT, **namespace}).encode()).hexdigest()[:20]


def entry_key(file: Path) -> str:
    stat = Path(file).stat()
    ident = f"{Path(file).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(ident.encode()).hexdigest()


def _canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, default=str)
