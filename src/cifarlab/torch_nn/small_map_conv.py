"""A 3x3 convolution whose weight gradient on tiny maps is computed as a forward convolution.

The weight gradient of a 3x3 convolution (padding 1) is a correlation of the input with the
output gradient, summed over the images and pixels:

    dL/dW[o, c, i, j] = sum over n, h, w of  dY[n, o, h, w] * X_padded[n, c, h + i, w + j]

Read with the images as channels and the input channels as the batch, that is an ordinary
forward convolution: input X as (C, N, H + 2, W + 2), filters dY as (O, N, H, W), output
(C, O, 3, 3). On a 2-core Intel Xeon with AMX-BF16 (torch 2.13, bf16, 250 images,
benchmarks/conv_grads.py), oneDNN's weight-gradient kernel ran at under 200 GFLOP/s on the
3-pixel maps of fastnet's last layer (14.6 ms for 256 -> 256 channels, 7x its forward pass); this
formula's forward convolution took 2.8 ms (0.19x), 0.13x on 2-pixel maps and 0.38-0.54x on
4-pixel maps, but 0.90-1.45x on 5, 1.4-2.8x on 6 and 7 and 3.5-19x on larger maps; in float32 it
was slower on every map (1.4x on 3 pixels). So only maps of at most 4 pixels in bf16 take this
route, when training on a CPU; everything else (GPUs, float32, larger maps, evaluation) uses the
plain convolution. On a cpu-peer step that saves about 5 %.
benchmarks/RESULTS.md, "Fast ConvNet on an Intel Xeon with AMX-BF16", has the figures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LARGEST_MAP = 4  # pixels per side: 0.13-0.54x the time on 2 to 4 pixels, 0.90-1.45x on 5, slower beyond


def plain_conv_backward(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, mask: list[bool]):
    """torch's own backward of F.conv2d(x, weight, padding=1) (oneDNN's kernels on a CPU):
    (grad_x, grad_weight, grad_bias), each None unless `mask` asks for it. Called directly:
    torch.nn.grad.conv2d_input, which passes a stand-in input, ran 10-18 % slower on 7-pixel maps."""
    return torch.ops.aten.convolution_backward(grad_out, x, weight, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                               mask)


def weight_grad_as_forward_conv(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """dL/dW of a 3x3 convolution with padding 1. x: (N, C, H, W), grad_out: (N, O, H, W),
    both of one dtype -> (O, C, 3, 3) in that dtype."""
    images_as_channels = x.transpose(0, 1).contiguous(memory_format=torch.channels_last)  # (C, N, H, W)
    grads_as_filters = grad_out.transpose(0, 1).contiguous(memory_format=torch.channels_last)  # (O, N, H, W)
    return F.conv2d(images_as_channels, grads_as_filters, padding=1).transpose(0, 1)  # (C, O, 3, 3) -> (O, C, 3, 3)


class ConvWithForwardWeightGrad(torch.autograd.Function):
    """F.conv2d(x, weight, padding=1) whose backward takes the weight gradient from
    `weight_grad_as_forward_conv`; the input gradient is oneDNN's, as usual."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, padding=1)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = plain_conv_backward(x, weight, grad_out, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_weight = weight_grad_as_forward_conv(x, grad_out.to(x.dtype))
        return grad_x, grad_weight


class SmallMapConv2d(nn.Conv2d):
    """nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), the same parameters and outputs,
    whose training backward on a CPU in bf16 takes the faster route above for maps of at most
    LARGEST_MAP pixels per side."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        tiny_bf16_training = (x.device.type == "cpu" and dtype == torch.bfloat16 and max(x.shape[-2:]) <= LARGEST_MAP
                              and torch.is_grad_enabled() and self.weight.requires_grad)
        if not tiny_bf16_training:
            return super().forward(x)
        with torch.autocast("cpu", enabled=False):  # the casts are explicit: the weight's gradient returns in float32
            return ConvWithForwardWeightGrad.apply(x.to(dtype), self.weight.to(dtype))
