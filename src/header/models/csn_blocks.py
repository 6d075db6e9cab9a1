"""The building blocks of ir-CSN (Tran et al., "Video Classification with Channel-Separated Convolutional Networks",
ICCV 2019): a 3D ResNet whose bottlenecks do their only spatiotemporal mixing in a depthwise 3x3x3 convolution.

Every attribute name below (`conv`, `norm`, `res_blocks`, `branch1_conv`, `branch2.conv_a`, …) is a state-dict key
of pytorchvideo's `create_csn`, whose released `.pyth` checkpoints and the mmaction2 mapping in csn.py load into
these modules as they are: renaming one breaks loading. The layout (kernels, strides, paddings, BatchNorm defaults,
initialisation) is create_csn's with its defaults; tests/header/test_csn_reference.py checks it against a fixture
made with pytorchvideo itself.
"""
import torch
from torch import nn

Stride = tuple[int, int, int]


class Stem(nn.Module):
    """(B, 3, T, H, W) -> (B, C, T, H/2, W/2): 3x7x7 conv (spatial stride 2), BatchNorm, ReLU; the optional
    1x3x3 max pool (stride 2) halves H and W once more."""

    def __init__(self, dim_out: int, *, max_pool: bool):
        super().__init__()
        self.conv = nn.Conv3d(3, dim_out, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
        self.norm = nn.BatchNorm3d(dim_out)
        self.activation = nn.ReLU()
        self.pool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)) if max_pool else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activation(self.norm(self.conv(x)))
        return x if self.pool is None else self.pool(x)


class Bottleneck(nn.Module):
    """1x1x1 conv down to `dim_inner`, depthwise 3x3x3 conv (one group per channel: the "interaction-reduced"
    part, and where the block's stride is), 1x1x1 conv up to `dim_out`; BatchNorm after each, ReLU after the
    first two (the residual block applies the last ReLU after the sum)."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, *, stride: Stride):
        super().__init__()
        self.conv_a = nn.Conv3d(dim_in, dim_inner, kernel_size=1, bias=False)
        self.norm_a = nn.BatchNorm3d(dim_inner)
        self.act_a = nn.ReLU()
        self.conv_b = nn.Conv3d(dim_inner, dim_inner, kernel_size=3, stride=stride, padding=1, groups=dim_inner,
                                bias=False)
        self.norm_b = nn.BatchNorm3d(dim_inner)
        self.act_b = nn.ReLU()
        self.conv_c = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.norm_c = nn.BatchNorm3d(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    """ReLU(shortcut(x) + bottleneck(x)); the shortcut is a strided 1x1x1 conv + BatchNorm where the width or the
    size changes (the first block of a stage), the identity elsewhere."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, *, stride: Stride):
        super().__init__()
        project = dim_in != dim_out or stride != (1, 1, 1)
        # Registered before branch2, as create_csn does: the state dict lists the keys in the same order.
        self.branch1_conv = nn.Conv3d(dim_in, dim_out, kernel_size=1, stride=stride, bias=False) if project else None
        self.branch1_norm = nn.BatchNorm3d(dim_out) if project else None
        self.branch2 = Bottleneck(dim_in, dim_inner, dim_out, stride=stride)
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.branch1_conv is None else self.branch1_norm(self.branch1_conv(x))
        return self.activation(shortcut + self.branch2(x))


class ResStage(nn.Module):
    """`depth` residual blocks; only the first changes the width and applies `stride`."""

    def __init__(self, depth: int, dim_in: int, dim_inner: int, dim_out: int, *, stride: Stride):
        super().__init__()
        self.res_blocks = nn.ModuleList(
            ResBlock(dim_in if i == 0 else dim_out, dim_inner, dim_out, stride=stride if i == 0 else (1, 1, 1))
            for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


def init_resnet_weights(model: nn.Module) -> None:
    """create_csn's initialisation: He-normal convolutions (fan_out, as Caffe2's MSRA fill), BatchNorm scale 1 and
    shift 0, except the last BatchNorm of every bottleneck, whose scale starts at 0 so that every residual block
    starts as the identity (training from scratch is stabler)."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm3d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for module in model.modules():
        if isinstance(module, Bottleneck):
            nn.init.zeros_(module.norm_c.weight)
