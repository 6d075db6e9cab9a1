"""What a model costs, for any nn.Module and one example input: parameters (total / trainable), GFLOPs per clip
(forward; forward + backward), the activation memory of one training step and forward throughput on a device.
Used by `python -m src.profile`, benchmarks/profile.py and the cost.json of a finished run; the figures are returned,
never stashed.

FLOPs come from torch.utils.flop_counter.FlopCounterMode, which counts the matrix products, convolutions and
attention of the ops that run, at 2 FLOPs per multiply-add; elementwise ops, norms and activations are not counted.
Papers' "GFLOPs" are mostly multiply-adds (fvcore, mmcv): compare gflops_forward / 2 with them.
"""
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

GIGA = 1e9
MEBI = 2 ** 20


@dataclass
class CostSubject:
    """`model(example)` is the forward of one clip (batch of one, one view); training back-propagates the sum of its
    output. `shared`: work a training step does once for its whole batch whatever the batch size (task=clip: the
    class text features), called with no input; `shared_what` says what it is. None: there is none."""
    model: nn.Module
    example: torch.Tensor
    num_frames: int
    image_size: int
    shared: nn.Module | None = None
    shared_what: str = ""
    clips: int = 1          # clips in `example` (2 where BatchNorm needs two values per channel in training mode);
                            # every figure is per clip


def measure_cost(subject: CostSubject, *, device: torch.device, warmup: int, iterations: int) -> dict:
    """The cost.json figures of `subject` on `device`. The model is moved there and otherwise left as it was found:
    the training-mode passes' BatchNorm statistics are put back, their gradients dropped."""
    model, example = subject.model.to(device), subject.example.to(device)
    total, trainable = count_params(model)
    clips = subject.clips
    with _buffers_kept(model):
        gflops_train = _giga(train_flops(model, example), clips)
        memory, measure = activation_bytes(model, example)
    shared = None
    if subject.shared is not None:
        with _buffers_kept(subject.shared):
            shared = shared_cost(subject.shared.to(device), subject.shared_what)
    return {"params_total": total, "params_trainable": trainable,
            "gflops_forward": forward_flops(model, example) / GIGA / clips, "gflops_train": gflops_train,
            "input_shape": [1, *example.shape[1:]], "num_frames": subject.num_frames, "image_size": subject.image_size,
            "device": describe_device(device), "activation_mb": memory / MEBI / clips, "activation_measure": measure,
            "throughput_clips_per_s": throughput(model, example, warmup=warmup, iterations=iterations),
            "per_step": shared}


def shared_cost(shared: nn.Module, what: str) -> dict:
    """GFLOPs of the once-per-step part (forward; forward + backward) and its activation memory."""
    memory, measure = activation_bytes(shared)
    return {"what": what, "gflops_forward": forward_flops(shared) / GIGA, "gflops_train": _giga(train_flops(shared)),
            "activation_mb": memory / MEBI, "activation_measure": measure}


def count_params(model: nn.Module) -> tuple[int, int]:
    """(all parameters, those with requires_grad), each tensor counted once even where modules share it."""
    params = list(model.parameters())  # parameters() yields a shared tensor once
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def forward_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one forward in eval mode (dropout off). Autograd stays on: FlopCounterMode's module tracker hooks the
    gradients of module inputs and fails on a parameter passed as an input under no_grad (attention pooling)."""
    with _mode(model, training=False), _counting() as counter:
        model(*inputs)
    return counter.get_total_flops()


@contextmanager
def _counting():
    """FlopCounterMode, with two gaps of torch's formula table closed:
    - CPU attention (scaled_dot_product_attention's CPU kernel) is counted like the CUDA kernels;
    - nn.MultiheadAttention of a frozen model takes a fused kernel without a formula (its projections and attention
      would count 0): it is sent through the plain path, the same arithmetic, for the count."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION) as counter:
            yield counter
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def _cpu_attention(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _cpu_attention_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


CPU_ATTENTION = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention,
                 torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward}


def train_flops(model: nn.Module, *inputs: torch.Tensor) -> int | None:
    """FLOPs of one forward + backward in training mode (frozen parts cost their forward only); None when nothing
    trainable reaches the output (a model without training, e.g. zero-shot CLIP)."""
    with _mode(model, training=True), _counting() as counter:
        output = model(*inputs)
        if not output.requires_grad:
            return None
        output.float().sum().backward()
    _drop_grads(model)
    return counter.get_total_flops()


def activation_bytes(model: nn.Module, *inputs: torch.Tensor) -> tuple[int, str]:
    """Memory of one training step's activations, and what was measured (said beside the figure): on CUDA, the peak
    allocated during forward + backward above what was allocated before (activations, gradients and temporaries);
    elsewhere, the bytes of the distinct tensors autograd saves for backward, parameters excluded."""
    device = inputs[0].device if inputs else next(model.parameters()).device
    if device.type == "cuda":
        return _cuda_peak(model, device, *inputs), "cuda peak, forward + backward"
    return _saved_for_backward(model, *inputs), "saved for backward, parameters excluded"


def _cuda_peak(model: nn.Module, device: torch.device, *inputs: torch.Tensor) -> int:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    with _mode(model, training=True):
        output = model(*inputs)
        if output.requires_grad:
            output.float().sum().backward()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del output
    _drop_grads(model)
    return peak


def _saved_for_backward(model: nn.Module, *inputs: torch.Tensor) -> int:
    """A forward in training mode whose saved tensors are recorded by storage (a tensor saved by several ops, or a
    view of another, counts once); the parameters' own storage is not an activation."""
    parameter_storage = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storage:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with _mode(model, training=True), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(*inputs)
    return sum(saved.values())


def throughput(model: nn.Module, example: torch.Tensor, *, warmup: int, iterations: int) -> float:
    """Clips per second of the forward in eval mode (inference_mode), timed over `iterations` after `warmup`."""
    sync = torch.cuda.synchronize if example.device.type == "cuda" else (lambda: None)
    with _mode(model, training=False), torch.inference_mode():
        for _ in range(warmup):
            model(example)
        sync()
        start = time.perf_counter()
        for _ in range(iterations):
            model(example)
        sync()
        elapsed = time.perf_counter() - start
    return iterations * example.shape[0] / elapsed


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


@contextmanager
def _mode(model: nn.Module, *, training: bool):
    """`model` in training or eval mode for a block, then back in the mode it was in (the module's own train() runs:
    frozen parts stay in eval mode where the module says so)."""
    was_training = model.training
    model.train(training)
    try:
        yield
    finally:
        model.train(was_training)


@contextmanager
def _buffers_kept(model: nn.Module):
    """The model's buffers (BatchNorm running statistics and step counts) as they were before the block."""
    saved = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def _drop_grads(model: nn.Module) -> None:
    for param in model.parameters():
        param.grad = None


def _giga(flops: int | None, clips: int = 1) -> float | None:
    return None if flops is None else flops / GIGA / clips
