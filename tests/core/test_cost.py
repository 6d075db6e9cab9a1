"""src/core/cost.py: FLOPs against closed-form counts, parameters, the saved-for-backward activation measure, the
cost.json keys; and our counter against the published multiply-adds of ViT-B/16, ir-CSN-50 and VideoMAE-B."""
import pytest
import torch
from torch import nn

from benchmarks.profile import PUBLISHED, TOLERANCE, published_check
from src.core.cost import (
    CostSubject,
    activation_bytes,
    count_params,
    forward_flops,
    measure_cost,
    train_flops,
)

# Conv3d(2 -> 3, 3x3x3, bias) on a 4³ clip: 3 x 2³ outputs, each 2 x 27 multiply-adds; Linear(24 -> 5): 24 x 5.
CONV_MACS, LINEAR_MACS = 3 * 8 * 2 * 27, 24 * 5


def conv_then_linear() -> nn.Module:
    return nn.Sequential(nn.Conv3d(2, 3, kernel_size=3), nn.Flatten(), nn.Linear(24, 5))


def test_forward_flops_are_twice_the_multiply_adds_of_a_conv_and_a_linear():
    assert forward_flops(conv_then_linear(), torch.randn(1, 2, 4, 4, 4)) == 2 * (CONV_MACS + LINEAR_MACS)


def test_training_flops_add_only_the_gradients_backward_needs():
    # Backward: the linear's input and weight gradients (2 x its MACs); the conv's weight gradient only (its input
    # is the data, which asks for none).
    forward = 2 * (CONV_MACS + LINEAR_MACS)
    backward = 2 * (2 * LINEAR_MACS + CONV_MACS)
    assert train_flops(conv_then_linear(), torch.randn(1, 2, 4, 4, 4)) == forward + backward


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


def test_attention_of_a_frozen_model_on_cpu_is_counted_in_full():
    # 5 tokens of width 8: q, k, v projections 3 x 5 x 8 x 8, scores 5 x 5 x 8, weighted values 5 x 5 x 8, output
    # projection 5 x 8 x 8. Frozen + eval takes MultiheadAttention's fused path, and the CPU attention kernel has no
    # formula in torch's table: both would count 0.
    model = SelfAttention().requires_grad_(False)
    assert forward_flops(model, torch.randn(1, 5, 8)) == 2 * (3 * 5 * 64 + 2 * 5 * 5 * 8 + 5 * 64)


def test_training_flops_are_none_when_nothing_trains():
    model = conv_then_linear().requires_grad_(False)
    assert train_flops(model, torch.randn(1, 2, 4, 4, 4)) is None


def test_params_count_trainable_ones_and_a_shared_tensor_once():
    first, frozen = nn.Linear(4, 3), nn.Linear(3, 2).requires_grad_(False)
    model = nn.Sequential(first, frozen, nn.Sequential(first))   # `first` appears twice
    assert count_params(model) == (4 * 3 + 3 + 3 * 2 + 2, 4 * 3 + 3)


def test_cpu_activations_are_the_distinct_tensors_saved_for_backward_without_parameters():
    # Linear 1 saves its input (2 x 8 floats); ReLU saves its output (2 x 16), which linear 2 saves again as its
    # input (the same storage: counted once); the weights are parameters.
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    memory, measure = activation_bytes(model, torch.randn(2, 8))
    assert memory == 4 * (2 * 8 + 2 * 16)
    assert "saved for backward" in measure


def test_measure_cost_gives_the_cost_json_keys_and_leaves_the_model_as_it_was():
    model = conv_then_linear().eval()
    subject = CostSubject(model, torch.randn(1, 2, 4, 4, 4), num_frames=4, image_size=4)
    cost = measure_cost(subject, device=torch.device("cpu"), warmup=1, iterations=2)
    assert cost["params_total"] == cost["params_trainable"] == 2 * 3 * 27 + 3 + 24 * 5 + 5
    assert cost["gflops_forward"] == pytest.approx(2 * (CONV_MACS + LINEAR_MACS) / 1e9)
    assert cost["gflops_train"] == pytest.approx(2 * (3 * LINEAR_MACS + 2 * CONV_MACS) / 1e9)
    assert (cost["input_shape"], cost["num_frames"], cost["image_size"], cost["device"]) == ([1, 2, 4, 4, 4], 4, 4,
                                                                                             "cpu")
    assert cost["throughput_clips_per_s"] > 0 and cost["activation_mb"] > 0 and cost["per_step"] is None
    assert not model.training and all(p.grad is None for p in model.parameters())


class Gram(nn.Module):
    """A once-per-step part: no input, a learned (3, 4) matrix -> ReLU(w w^T)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, 4))

    def forward(self):
        return (self.weight @ self.weight.t()).relu()


def test_the_once_per_step_part_is_measured_on_its_own():
    subject = CostSubject(conv_then_linear(), torch.randn(1, 2, 4, 4, 4), num_frames=4, image_size=4,
                          shared=Gram(), shared_what="a Gram matrix")
    step = measure_cost(subject, device=torch.device("cpu"), warmup=0, iterations=1)["per_step"]
    assert step["what"] == "a Gram matrix" and step["gflops_forward"] == pytest.approx(2 * 3 * 3 * 4 / 1e9)
    # backward: the gradient of w through both operands of the product, 2 x its multiply-adds
    assert step["gflops_train"] == pytest.approx(3 * 2 * 3 * 3 * 4 / 1e9)
    assert step["activation_mb"] * 2 ** 20 == 3 * 3 * 4   # the ReLU's output; the matmul saves only parameters


def test_measure_cost_puts_the_batchnorm_statistics_back():
    model = nn.Sequential(nn.Conv3d(2, 3, kernel_size=1), nn.BatchNorm3d(3), nn.Flatten(), nn.Linear(3 * 64, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    subject = CostSubject(model, torch.randn(1, 2, 4, 4, 4) + 5, num_frames=4, image_size=4)
    measure_cost(subject, device=torch.device("cpu"), warmup=1, iterations=1)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", ["vit_b16", "csn50"])
def test_our_count_is_within_5_percent_of_the_published_multiply_adds(name):
    check = published_check(name)   # counted on the meta device: shapes only
    assert abs(check["ours_gmacs"] / PUBLISHED[name]["gmacs"] - 1) <= TOLERANCE, check


@pytest.mark.slow
def test_videomae_base_count_is_within_5_percent_of_the_papers_180_gflops():
    check = published_check("vmae_b")
    assert abs(check["ours_gmacs"] / 180.0 - 1) <= TOLERANCE, check
