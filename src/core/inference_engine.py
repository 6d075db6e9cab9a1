"""What runs the model in src.detect and src.predict: `engine=torch|onnxruntime`, `precision=fp32|bf16|fp16`.

    engine = inference_engine(settings, model, device, target, "detect.")   # settings: engine, precision, export_dir
    logits = engine(batch)            # batch: the model's input on the CPU -> (B, C) float32 logits

Both engines take exactly what the PyTorch model's forward takes and return float32 logits, so the callers only
replace their `model(x)` call. onnxruntime is an optional extra: it is imported only when engine=onnxruntime.
`check_engine` is the pre-flight check (before any output folder exists) of what `inference_engine` would refuse.
"""
import logging
from collections.abc import Callable
from importlib.util import find_spec

import numpy as np
import torch

from src.core.errors import UserError
from src.core.export_folder import ExportTarget, read_export

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
SETTINGS = ("engine", "precision", "export_dir")   # the keys of conf/detect/default.yaml and conf/predict.yaml


def engine_settings(cfg) -> dict:
    """The engine keys of a config section (a dict or a DictConfig) as a plain dict."""
    return {key: cfg[key] for key in SETTINGS}


def check_precision(engine: str, precision: str, device: torch.device, prefix: str) -> None:
    key = f"{prefix}precision"
    if engine == "onnxruntime" and precision != "fp32":
        raise UserError(f"{key}={precision}: engine=onnxruntime runs the fp32 export; use {key}=fp32, or "
                        f"{prefix}engine=torch for {precision}")
    if precision == "fp16" and device.type != "cuda":
        raise UserError(f"{key}=fp16: half precision runs on a CUDA device only, this runs on {device}; use "
                        f"{key}=bf16 (or fp32) on a CPU")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"{key}=bf16: {torch.cuda.get_device_name(device)} has no bfloat16; use {key}=fp16 or fp32")


def check_engine(settings: dict, device: torch.device, target: Callable[[], ExportTarget] | None,
                 prefix: str) -> dict | None:
    """UserError for what `inference_engine` would refuse; `target` gives the run's ExportTarget (None: no run).
    Returns the export.json read (engine=onnxruntime), else None."""
    check_precision(settings["engine"], settings["precision"], device, prefix)
    if settings["engine"] != "onnxruntime":
        return None
    if find_spec("onnxruntime") is None:
        raise UserError(f"{prefix}engine=onnxruntime: the onnxruntime package is not installed; make install "
                        f"includes it, or use {prefix}engine=torch")
    if target is None:
        raise UserError(f"{prefix}engine=onnxruntime runs the export of a trained run: give run=<run>, or use "
                        f"{prefix}engine=torch")
    return read_export(settings["export_dir"], target(), f"{prefix}export_dir")


def inference_engine(settings: dict, model: Callable, device: torch.device, target: ExportTarget | None,
                     prefix: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The engine `settings` (engine, precision, export_dir) asks for: `model` itself or the run's export."""
    export = check_engine(settings, device, (lambda: target) if target is not None else None, prefix)
    if export is None:
        return TorchEngine(model, settings["precision"], device)
    log.info("engine=onnxruntime: %s", export["path"])
    return OnnxEngine(export["path"], device)


class TorchEngine:
    """The PyTorch model in inference mode. bf16 / fp16 by autocast, not model.to(dtype): the weights stay fp32,
    matrix products and convolutions run in the half type while normalisation, softmax and reductions stay fp32
    (BatchNorm and LayerNorm statistics in bf16 lose the most), and the model object is left as it was."""

    def __init__(self, model: Callable, precision: str, device: torch.device):
        self.model, self.device, self.dtype = model, device, PRECISIONS[precision]

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        half = self.dtype != torch.float32
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.dtype, enabled=half):
            return self.model(batch.to(self.device, non_blocking=True)).float()


class OnnxEngine:
    """An onnxruntime session over the exported model file (fp32). CPU threads: torch's intra-op thread count in
    this process (OMP_NUM_THREADS / torch.set_num_threads), so both engines get the same cores; one inter-op thread
    (the graph is one chain of convolutions: parallel branches would only compete for those cores)."""

    def __init__(self, model_file: str, device: torch.device):
        import onnxruntime  # the optional extra: only here

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers: list = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
                providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
            else:
                log.warning("engine=onnxruntime: this onnxruntime has no CUDA provider (install onnxruntime-gpu); "
                            "running on the CPU")
        try:
            self.session = onnxruntime.InferenceSession(model_file, options, providers=providers)
        except Exception as err:  # onnxruntime's errors (InvalidProtobuf, Fail, …) derive from Exception only
            raise UserError(f"{model_file}: onnxruntime cannot load it ({err}); export the run again: python -m "
                            "src.export run=<run> format=onnx") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run(None, {self.input_name: array})[0]).float()
