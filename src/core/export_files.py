"""The export folder of `python -m src.export` (both tasks): the model file, its parity check and export.json.

A task hands over an `ExportModel` (the net exactly as detection / prediction calls it, real inputs from the run's
data and what export.json says about them); `write_export` then, in a temporary folder beside the target:
writes the model file (src/core/export_formats.py), loads it back (onnxruntime / torch.jit.load), compares its
logits with the PyTorch net's (|Δ| <= parity.tolerance, else one line and nothing left behind), writes export.json
and only then moves the folder into place. An existing export folder is replaced only with overwrite=true, and
only after the new one passed: until then the old one is untouched.

export.json is the contract with `engine=onnxruntime` of src.detect / src.predict (the keys are listed in
`export_record`); `checkpoint_sha256` lets a reader tell an export of another run.
"""
import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from src.core.atomic import write_json
from src.core.errors import UserError
from src.core.export_formats import (
    FILES,
    INPUT,
    OUTPUT,
    load_exported,
    onnxruntime_version,
    parity_diff,
    write_model,
)
from src.core.override_checks import folder_problem
from src.core.provenance import file_sha256

log = logging.getLogger(__name__)

ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")   # the `onnx` extra of pyproject.toml
EXPORT_NAMES = {"export.json", *FILES.values()}          # what an export folder holds (overwrite=true replaces only such)


@dataclass
class ExportModel:
    """What a task exports: `net` (eval mode, fp32, CPU) takes `inputs`-shaped batches and returns logits (B, C)."""
    net: nn.Module
    inputs: Tensor          # (N, …) parity inputs, exactly what `net` takes (already normalised)
    source: str             # where `inputs` came from, in words (export.json's parity.source)
    run_dir: Path
    checkpoint: Path        # the weights file exported (inside run_dir)
    layout: str             # the input's axes, e.g. "B,3,T,H,W"
    details: dict           # mean, std, num_frames, image_size, threshold, class_names


def export_folder(cfg, run_dir: Path) -> Path:
    """output=, or <run folder>/export when it is null."""
    return Path(cfg["output"]) if cfg["output"] is not None else Path(run_dir) / "export"


def check_export_folder(folder: Path, fmt: str, overwrite: bool) -> None:
    """Before anything is written: the folder can be made, an existing one is replaced only when asked, and
    format=onnx finds its packages."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"output={folder}: is a file, not a folder; pick a folder for the export")
    if problem := folder_problem(folder):
        raise UserError(f"output={folder}: cannot create this folder ({problem}); pick a writable place")
    held = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if held and not ("export.json" in held and held <= EXPORT_NAMES):  # overwrite=true never empties another folder
        raise UserError(f"output={folder}: a folder that is not an export (it holds {', '.join(sorted(held)[:3])}"
                        f"{' …' if len(held) > 3 else ''}); pick a new or empty folder")
    if held and not overwrite:
        raise UserError(f"output={folder}: already holds an export; pass overwrite=true to replace it (once the new "
                        "one passed its parity check) or output=<another folder>")
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None] if fmt == "onnx" else []
    if missing:
        raise UserError(f"format=onnx needs {', '.join(missing)} (the `onnx` extra): pip install -e '.[onnx]', or "
                        "export with format=torchscript")


def random_inputs(count: int, shape: tuple[int, ...]) -> Tensor:
    """Seeded standard-normal inputs: the parity check's stand-in when the run's data is gone."""
    return torch.randn((count, *shape), generator=torch.Generator().manual_seed(0))


def write_export(cfg: dict, model: ExportModel) -> dict:
    """Export `model` into export_folder(cfg, run_dir) as cfg["format"]; returns export.json's record."""
    fmt, target = cfg["format"], export_folder(cfg, model.run_dir).absolute()
    check_export_folder(target, fmt, bool(cfg["overwrite"]))
    made = _make_parents(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700: give the folder the mode a plain mkdir would
        record = _export_into(staging, cfg, model)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in reversed(made):  # the folders made for it, now empty again
            with contextlib.suppress(OSError):  # something else filled it meanwhile
                folder.rmdir()
        raise
    parity = record["parity"]
    log.info("exported %s as %s -> %s (parity: max |Δ logits| %.2e on %d inputs, %s)", model.run_dir, fmt,
             target / record["file"], parity["max_abs_diff"], parity["num_inputs"], parity["source"])
    return record


def _export_into(folder: Path, cfg: dict, model: ExportModel) -> dict:
    fmt, parity = cfg["format"], cfg["parity"]
    inputs = model.inputs[: parity["num_inputs"]].float().contiguous()
    example = torch.cat([inputs, inputs])[:2]  # traced with a batch of 2: a batch of 1 would fix the batch axis
    model.net.eval()
    exporter = write_model(model.net, example, folder / FILES[fmt], fmt, int(cfg["opset"]))
    diff = parity_diff(model.net, load_exported(folder / FILES[fmt], fmt), inputs)
    if not diff <= parity["tolerance"]:  # NaN fails too
        raise UserError(f"format={fmt}: the exported model's logits differ from PyTorch's by up to {diff:.3g} > "
                        f"parity.tolerance={parity['tolerance']} on {len(inputs)} inputs ({model.source}); nothing "
                        "was written (export format=torchscript, or report the model)")
    record = export_record(cfg, model, exporter, inputs, {"max_abs_diff": diff, "tolerance": parity["tolerance"],
                                                          "num_inputs": len(inputs), "source": model.source})
    write_json(folder / "export.json", record)
    return record


def export_record(cfg: dict, model: ExportModel, exporter: str, inputs: Tensor, parity: dict) -> dict:
    """export.json (the keys the engine of src.detect / src.predict reads; contract with issue 22)."""
    with torch.no_grad():
        num_classes = int(model.net(inputs[:1]).shape[-1])
    fmt = cfg["format"]
    return {
        "format": fmt, "file": FILES[fmt], "task": cfg["task"]["name"],
        "run_dir": str(Path(model.run_dir).absolute()),
        "checkpoint": Path(model.checkpoint).relative_to(model.run_dir).as_posix(),
        "checkpoint_sha256": file_sha256(model.checkpoint),
        "input": {"name": INPUT, "shape": [None, *inputs.shape[1:]], "dtype": "float32", "layout": model.layout},
        "output": {"name": OUTPUT, "shape": [None, num_classes]},
        **model.details,
        "opset": int(cfg["opset"]) if fmt == "onnx" else None, "exporter": exporter,
        "torch_version": torch.__version__, "onnxruntime_version": onnxruntime_version() if fmt == "onnx" else None,
        "parity": parity,
    }


def _umask() -> int:
    mask = os.umask(0)  # read by setting it, and put back at once
    os.umask(mask)
    return mask


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p `folder`; returns the folders it created, outermost first."""
    missing = [p for p in [folder, *folder.parents] if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _move_into_place(staging: Path, target: Path) -> None:
    """`staging` becomes `target`; an existing target (overwrite=true) is set aside first and removed after."""
    if not target.exists():
        os.replace(staging, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, aside / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(aside / target.name, target)  # put the old export back
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)

