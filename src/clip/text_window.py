"""Class text features computed once per optimizer step and shared by its accumulated micro-batches.

With gradient accumulation the learned prompts only change at the optimizer step, so every micro-batch of a
window would encode the very same class prompts (forward and backward through the text transformer: C·77
tokens, more than the images for 101+ classes). Instead the window encodes them once, hands each micro-batch a
detached leaf, lets the leaf collect the micro-batches' gradients, and back-propagates that sum through the
text encoder once before the step. The gradient is the same sum, so this is exact in fp32; under bf16 (mixed or
true) the sum is rounded in another order, so it agrees within bf16 rounding (tests/clip/test_text_window.py).
Used with a single process (under DDP the text gradients would miss the all-reduce) and without fp16 loss
scaling (the scaler unscales before this backward could run): `task.text_once_per_step_precisions`.
"""
from collections.abc import Callable

import torch


class TextFeatureWindow:
    def __init__(self):
        self.graph: torch.Tensor | None = None  # text features with the autograd graph to the prompts
        self.leaf: torch.Tensor | None = None   # the detached copy the micro-batches use

    def features(self, encode: Callable[[], torch.Tensor]) -> torch.Tensor:
        if self.leaf is None:  # first micro-batch of the window
            self.graph = encode()                                   # (C, E)
            self.leaf = self.graph.detach().requires_grad_()
        return self.leaf

    def backward(self) -> None:
        """Call before the optimizer step: one backward through the text encoder for the whole window."""
        if self.leaf is not None and self.leaf.grad is not None:
            self.graph.backward(self.leaf.grad)
        self.graph = self.leaf = None
