"""Writing a net as an ONNX or a TorchScript file, and running the written file back (for the parity check).

    exporter = write_model(net, example, folder / FILES["onnx"], "onnx", opset=18)   # "dynamo" | "torchscript"
    logits = load_exported(folder / FILES["onnx"], "onnx")(video)                   # onnxruntime on the CPU

ONNX: torch.onnx.export with the dynamo (torch.export) exporter first, torch's default; a model it cannot capture is
exported again by the older TorchScript-based exporter, and export.json says which one wrote the file. The batch
axis (0) is dynamic in both. The weights stay inside model.onnx (no external-data file beside it), so the export
folder is the model file and export.json; the ONNX format caps such a file at 2 GB, far above the models here.
TorchScript: torch.jit.trace (every net here is a fixed graph of tensor ops for a given input shape) + save.
"""
import contextlib
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from src.core.errors import UserError, one_line

log = logging.getLogger(__name__)

FILES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}   # format -> the model file's name
INPUT, OUTPUT = "video", "logits"                                        # the graph's input and output names


# Loggers of the ONNX exporter that report each graph pass at INFO (Hydra's job log level): one line per pass.
EXPORTER_LOGGERS = ("onnx_ir", "onnxscript", "torch.onnx")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' progress lines (stdout, INFO logs) and tracer warnings: no news to the user of a check that
    passes (its outcome is the one line write_export logs)."""
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def write_model(net: nn.Module, example: Tensor, path: Path, fmt: str, opset: int) -> str:
    """`net` (eval mode, CPU) traced on `example` (a batch of 2 or more) and written to `path`; returns the exporter
    used ("dynamo" / "torchscript" for ONNX, "torch.jit.trace" for TorchScript)."""
    if fmt == "torchscript":
        with torch.no_grad(), _quiet():
            traced = torch.jit.trace(net, (example,), check_trace=False)
            torch.jit.save(traced, str(path))
        return "torch.jit.trace"
    try:
        with torch.no_grad(), _quiet():
            torch.onnx.export(net, (example,), str(path), dynamo=True, external_data=False, opset_version=opset,
                              input_names=[INPUT], output_names=[OUTPUT],
                              dynamic_shapes=({0: torch.export.Dim("batch")},))
        return "dynamo"
    except Exception as err:  # noqa: BLE001  any failure of the new exporter: the older one may still manage
        dynamo_error = _reason(err)
        log.warning("the dynamo ONNX exporter failed (%s); exporting with the TorchScript-based one", dynamo_error)
        path.unlink(missing_ok=True)
    try:
        with torch.no_grad(), _quiet():
            torch.onnx.export(net, (example,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT],
                              output_names=[OUTPUT], dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}})
        return "torchscript"
    except Exception as err:  # noqa: BLE001  both failed: one line naming both reasons
        raise UserError(f"format=onnx: neither ONNX exporter can export this model (dynamo: {dynamo_error}; "
                        f"TorchScript-based: {_reason(err)}); export it with format=torchscript") from None


def _reason(err: BaseException, limit: int = 300) -> str:
    """An exporter's error as a short line: colour codes and its advice paragraph left out, the summary kept."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", one_line(err))
    return text.split("## Exception summary; ", 1)[-1][:limit]


def load_exported(path: Path, fmt: str) -> Callable[[Tensor], Tensor]:
    """The written file as a function video -> logits: an onnxruntime session (CPU) or torch.jit.load."""
    if fmt == "torchscript":
        with _quiet():
            module = torch.jit.load(str(path), map_location="cpu").eval()
        return lambda video: module(video)
    import onnxruntime  # the optional `onnx` extra: imported only for format=onnx

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-optimisation notes are no news to the user
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda video: torch.from_numpy(session.run([OUTPUT], {INPUT: video.numpy()})[0])


def parity_diff(net: nn.Module, exported: Callable[[Tensor], Tensor], inputs: Tensor) -> float:
    """max |exported - PyTorch| over the logits of `inputs` as one batch and of the first input alone (a batch size
    the export was not traced with: the batch axis is dynamic)."""
    with torch.no_grad():
        expected = net(inputs).float()
        batched = (exported(inputs).float() - expected).abs().max()
        single = (exported(inputs[:1]).float() - expected[:1]).abs().max()
    return float(torch.maximum(batched, single))


def onnxruntime_version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__
