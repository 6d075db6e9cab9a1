"""A run's export folder as `python -m src.export run=<run> format=onnx` writes it (model.onnx + export.json, the
format agreed for src.export), made here with torch.onnx.export so the engine tests do not depend on src.export.

    export_header_run(run_dir)   # -> run_dir / "export"
    export_clip_run(run_dir)
"""
import json
from pathlib import Path

import onnxruntime
import torch

from src.clip.run_loading import load_clip_run
from src.core.provenance import file_sha256
from src.header.run_loading import load_header_run


class _WithText(torch.nn.Module):
    """task=clip: video -> class logits, the class text features computed once and stored (as src.export does)."""

    def __init__(self, model: torch.nn.Module, text: torch.Tensor | None):
        super().__init__()
        self.model = model
        self.register_buffer("text", text)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.model(video, self.text)


def write_export(run_dir: Path, model: torch.nn.Module, example: torch.Tensor, info: dict,
                 folder: Path | None = None) -> Path:
    """model.onnx (batch axis dynamic) and export.json in `folder` (default <run>/export/)."""
    folder = Path(folder or Path(run_dir) / "export")
    folder.mkdir(parents=True, exist_ok=True)
    # nn.MultiheadAttention's eval fast path (aten::_native_multi_head_attention) has no ONNX form: the plain path
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            torch.onnx.export(model.eval(), (example,), str(folder / "model.onnx"), input_names=["video"],
                              output_names=["logits"], dynamic_axes={"video": {0: "batch"}, "logits": {0: "batch"}},
                              opset_version=17, dynamo=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    with torch.no_grad():
        expected = model(example)
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"video": example.numpy()})[0])
    assert (got - expected).abs().max() <= 1e-4, "the export does not reproduce the model (src.export refuses it)"
    checkpoint = Path(run_dir) / info.pop("checkpoint")
    export = {"format": "onnx", "file": "model.onnx", "run_dir": str(Path(run_dir).resolve()),
              "checkpoint": str(checkpoint.relative_to(run_dir)), "checkpoint_sha256": file_sha256(checkpoint),
              "input": {"name": "video", "shape": [None, *example.shape[1:]], "dtype": "float32",
                        "layout": info.pop("layout")},
              "output": {"name": "logits", "shape": [None, int(expected.shape[1])]},
              **info, "opset": 17, "torch_version": torch.__version__,
              "onnxruntime_version": onnxruntime.__version__,
              "parity": {"max_abs_diff": float((got - expected).abs().max()), "tolerance": 1e-4, "num_inputs":
                         int(example.shape[0]), "source": "random normal inputs (test helper)"}}
    (folder / "export.json").write_text(json.dumps(export, indent=2))
    return folder


def export_header_run(run_dir: Path, folder: Path | None = None) -> Path:
    run = load_header_run(str(run_dir), Path(run_dir).parent)
    data, backbone = run.config["dataset"], run.config["backbone"]
    frames, size = data["num_frames"], data["input_size"]
    example = torch.randn(2, 3, frames, size, size, generator=torch.Generator().manual_seed(0))
    info = {"task": "header", "checkpoint": str(run.checkpoint.relative_to(run_dir)), "layout": "B,3,T,H,W",
            "mean": backbone["mean"], "std": backbone["std"], "num_frames": frames, "image_size": size,
            "threshold": run.threshold, "class_names": ["no_header", "header"]}
    return write_export(run_dir, run.net, example, info, folder)


def export_clip_run(run_dir: Path, folder: Path | None = None) -> Path:
    run = load_clip_run(str(run_dir), Path(run_dir).parent)
    model = run.module.model
    with torch.no_grad():
        text = None if model.text_features_depend_on_video else model.class_text_features()
    data, backbone = run.config["dataset"], run.config["backbone"]
    views = data["num_temporal_views"] * data["num_spatial_views"]
    frames, size = data["num_frames"], backbone["image_size"]
    example = torch.randn(2, views, frames, 3, size, size, generator=torch.Generator().manual_seed(0))
    info = {"task": "clip", "checkpoint": "checkpoint.pth", "layout": "B,V,T,3,H,W", "mean": backbone["mean"],
            "std": backbone["std"], "num_frames": frames, "image_size": size, "threshold": None,
            "class_names": run.class_names}
    return write_export(run_dir, _WithText(model, text), example, info, folder)
