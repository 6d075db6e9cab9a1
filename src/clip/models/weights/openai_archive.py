"""The tensors of a TorchScript archive (what OpenAI's CLIP release ships, e.g. ViT-B-16.pt) without running it.

torch.jit.load would compile and run the archive's code/ folder: code from a file. The tensors live in data.pkl
(the pickled module tree) and data/<key> (raw storages, stored uncompressed), so this reads only those: an
Unpickler that rebuilds tensors with torch's own function, turns every TorchScript class (`__torch__.*`) into an
inert attribute holder, and refuses any other global. The result has the keys `jit_module.state_dict()` has.
"""
import io
import pickle
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch

from src.core.errors import UserError


def is_torchscript_archive(path: Path) -> bool:
    """torch.jit.save writes a zip holding <name>/constants.pkl and code/; torch.save's zip has neither."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


class _ScriptObject:
    """Stands in for a TorchScript class: holds the attributes data.pkl gives it, and nothing runs."""

    def __setstate__(self, state) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


def _keep_value(value, *_type_info):    # torch.jit._pickle.restore_type_tag(value, type): the value itself
    return value


def _same_list(values):                  # torch.jit._pickle.build_intlist & co: the list itself
    return list(values)


# The only callables data.pkl may name (torch.jit._pickle's helpers are replaced by plain equivalents).
_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("collections", "OrderedDict"): OrderedDict,
    ("torch.jit._pickle", "restore_type_tag"): _keep_value,
    **{("torch.jit._pickle", f"build_{kind}list"): _same_list for kind in ("int", "double", "bool", "tensor")},
}


class _ArchiveUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix, self.storages = archive, prefix, {}

    def find_class(self, module: str, name: str):
        if module.startswith("__torch__"):
            return _ScriptObject
        if module == "torch" and name.endswith("Storage") and isinstance(getattr(torch, name, None), type):
            return getattr(torch, name)      # only read for its dtype in persistent_load
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"data.pkl names {module}.{name}, which a weights archive does not need")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent record {kind!r}")
        with warnings.catch_warnings():   # the legacy class (torch.HalfStorage) names the dtype; reading it warns
            warnings.simplefilter("ignore", UserWarning)
            dtype = storage_type.dtype
        if key not in self.storages:
            raw = bytearray(self.archive.read(f"{self.prefix}/data/{key}"))
            untyped = torch.frombuffer(raw, dtype=torch.uint8).untyped_storage() if raw else torch.UntypedStorage(0)
            self.storages[key] = torch.storage.TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)
        return self.storages[key]


def _named_tensors(obj: _ScriptObject, prefix: str = ""):
    for name, value in vars(obj).items():
        if isinstance(value, torch.Tensor):
            yield prefix + name, value
        elif isinstance(value, _ScriptObject):
            yield from _named_tensors(value, f"{prefix}{name}.")


def read_torchscript_tensors(path: Path) -> dict[str, torch.Tensor]:
    """{dotted attribute name: tensor} of every tensor in the archive's module tree."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise UserError(f"{path}: a TorchScript archive without one <name>/data.pkl; re-save it with torch.jit.save")
        prefix = pickles[0].split("/")[0]
        try:
            root = _ArchiveUnpickler(archive.read(pickles[0]), archive, prefix).load()
        except (pickle.UnpicklingError, KeyError, ValueError, TypeError) as err:
            raise UserError(f"{path}: cannot read its tensors as data ({err}); give a state dict instead "
                            "(torch.save(model.state_dict(), path))") from err
    if not isinstance(root, _ScriptObject):
        raise UserError(f"{path}: its data.pkl holds a {type(root).__name__}, not a module; give a CLIP archive")
    return dict(_named_tensors(root))
