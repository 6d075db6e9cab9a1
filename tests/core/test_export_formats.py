"""src/core/export_formats.py on small nets: a net the dynamo exporter cannot capture is written by the
TorchScript-based ONNX exporter (and says so), one neither can export is one UserError, and the parity difference
is measured on a batch size the export was not traced with."""
import pytest
import torch
from torch import nn

from src.core.errors import UserError
from src.core.export_formats import load_exported, parity_diff, write_model


class DataDependentBranch(nn.Module):
    """A Python `if` on a tensor's value: torch.export cannot capture it, tracing records the branch taken."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > -1e9:
            return self.linear(x)
        return -self.linear(x)


class Eigenvalues(nn.Module):
    """An operator ONNX has no function for (general eigenvalues): neither exporter can write it."""

    def forward(self, x):
        return torch.linalg.eigvals(x.reshape(x.shape[0], 2, 2)).real


def test_a_net_dynamo_cannot_capture_falls_back_to_the_torchscript_based_exporter(tmp_path, caplog):
    torch.manual_seed(0)
    net = DataDependentBranch().eval()
    x = torch.randn(5, 4)
    exporter = write_model(net, x[:2], tmp_path / "model.onnx", "onnx", opset=18)
    assert exporter == "torchscript"
    assert "the dynamo ONNX exporter failed" in caplog.text
    assert parity_diff(net, load_exported(tmp_path / "model.onnx", "onnx"), x) <= 1e-6


def test_torchscript_export_reloads_with_a_dynamic_batch(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3)).eval()
    assert write_model(net, torch.randn(2, 4), tmp_path / "model.torchscript.pt", "torchscript", 18) == \
        "torch.jit.trace"
    exported = load_exported(tmp_path / "model.torchscript.pt", "torchscript")
    x = torch.randn(7, 4)
    assert exported(x).shape == (7, 3) and parity_diff(net, exported, x) <= 1e-6
    broken = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3)).eval()  # other weights: a large difference
    assert parity_diff(broken, exported, x) > 1e-3


def test_a_net_neither_exporter_handles_is_one_user_error(tmp_path):
    with pytest.raises(UserError, match="neither ONNX exporter can export this model .*eig.*format=torchscript") as err:
        write_model(Eigenvalues().eval(), torch.randn(2, 4), tmp_path / "model.onnx", "onnx", opset=18)
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value) and len(str(err.value)) < 800
