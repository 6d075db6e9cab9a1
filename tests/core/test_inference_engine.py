"""src/core/inference_engine.py and src/core/export_folder.py on a small linear model: both engines return float32
logits equal within 1e-4, bf16 runs by autocast, and an export folder that does not stand in for the run (missing,
unreadable, of another run, task or frame count, a model file named outside the folder) is a UserError."""
import json

import pytest
import torch

from src.core.errors import UserError
from src.core.export_folder import ExportTarget, read_export
from src.core.inference_engine import check_precision, inference_engine
from src.core.provenance import file_sha256

SETTINGS = {"engine": "onnxruntime", "precision": "fp32", "export_dir": None}


@pytest.fixture
def exported(tmp_path):
    """(model, target, export folder): a Linear over (B, 2, 3) inputs, its weights file and its ONNX export."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 2)).eval()
    run_dir = tmp_path / "run"
    (run_dir / "export").mkdir(parents=True)
    torch.save(model.state_dict(), run_dir / "weights.pt")
    torch.onnx.export(model, (torch.randn(1, 2, 3),), str(run_dir / "export" / "model.onnx"), input_names=["video"],
                      output_names=["logits"], dynamic_axes={"video": {0: "batch"}}, opset_version=17, dynamo=False)
    export = {"format": "onnx", "file": "model.onnx", "task": "header", "checkpoint": "weights.pt",
              "checkpoint_sha256": file_sha256(run_dir / "weights.pt"), "num_frames": 2,
              "input": {"name": "video", "shape": [None, 2, 3], "dtype": "float32", "layout": "B,T,C"}}
    (run_dir / "export" / "export.json").write_text(json.dumps(export))
    target = ExportTarget("header", run_dir, run_dir / "weights.pt", num_frames=2, input_shape=(2, 3))
    return model, target, run_dir / "export"


def test_both_engines_give_float32_logits_within_1e4_and_bf16_runs(exported):
    model, target, _ = exported
    batch = torch.randn(5, 2, 3)
    cpu = torch.device("cpu")
    logits = {engine: inference_engine({**SETTINGS, "engine": engine}, model, cpu, target, "")(batch)
              for engine in ("torch", "onnxruntime")}
    assert all(x.dtype == torch.float32 and x.shape == (5, 2) for x in logits.values())
    assert (logits["onnxruntime"] - logits["torch"]).abs().max() <= 1e-4
    bf16 = inference_engine({**SETTINGS, "engine": "torch", "precision": "bf16"}, model, cpu, target, "")(batch)
    assert bf16.dtype == torch.float32 and 0 < (bf16 - logits["torch"]).abs().max() <= 5e-2
    assert next(model.parameters()).dtype == torch.float32  # autocast: the model itself stays fp32


def _rewrite(folder, **changes):
    export = json.loads((folder / "export.json").read_text())
    (folder / "export.json").write_text(json.dumps({**export, **changes}))


@pytest.mark.parametrize("changes, words", [
    ({"checkpoint_sha256": "0" * 64}, "an export of another run"),
    ({"task": "clip"}, "an export of a task=clip run"),
    ({"num_frames": 8}, "exported for num_frames=8, the run's model takes 2"),
    ({"input": {"shape": [None, 2, 4]}}, "input shape [None, 2, 4]"),
    ({"format": "torchscript"}, "format 'torchscript'"),
    ({"file": "../../weights.pt"}, "names weights.pt, which is not in"),
])
def test_an_export_that_does_not_stand_in_for_the_run_is_refused(exported, changes, words):
    _, target, folder = exported
    _rewrite(folder, **changes)
    with pytest.raises(UserError, match="python -m src.export run=") as error:
        read_export(None, target, "export_dir")
    assert words in str(error.value) and str(folder / "export.json") in str(error.value)


def test_a_missing_or_unreadable_export_and_bad_precisions_are_refused(exported, tmp_path):
    _, target, folder = exported
    with pytest.raises(UserError, match="no export of this run"):
        read_export(str(tmp_path / "nowhere"), target, "export_dir")
    (folder / "export.json").write_text("{not json")
    with pytest.raises(UserError, match="not a readable export.json"):
        read_export(None, target, "export_dir")
    with pytest.raises(UserError, match="detect.precision=fp16: half precision runs on a CUDA device only"):
        check_precision("torch", "fp16", torch.device("cpu"), "detect.")
    with pytest.raises(UserError, match="precision=bf16: engine=onnxruntime runs the fp32 export"):
        check_precision("onnxruntime", "bf16", torch.device("cpu"), "")
