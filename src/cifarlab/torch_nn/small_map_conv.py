"""A 3x3 convolution whose weight gradient on small maps takes a faster route than oneDNN's.

The weight gradient of a 3x3 convolution (padding 1) is a correlation of the input with the
output gradient, summed over the images and pixels:

    dL/dW[o, c, i, j] = sum over n, h, w of  dY[n, o, h, w] * X_padded[n, c, h + i, w + j]

Two other readings of that sum, each faster than oneDNN's weight-gradient kernel somewhere:
- as a forward convolution, with the images as channels and the input channels as the batch:
  input X as (C, N, H + 2, W + 2), filters dY as (O, N, H, W), output (C, O, 3, 3);
- as matrix products: the output gradient as rows of O values, one per pixel, times the 3x3
  neighbourhood of the same pixel's input, copied out as rows of 9 x C values ("im2col").
On a 2-core Intel Xeon with AMX-BF16 (torch 2.13, bf16, 250 images, benchmarks/conv_grads.py),
oneDNN's kernel ran at 600-1,500 GFLOP/s on maps of 11-31 pixels but 94-185 on 2-3 pixels, the
3-pixel maps of fastnet's last layer. There the forward convolution took 0.12-0.22x its time (it
was slower from 6 pixels on, and in float32 on every map), and the matrix products 0.58-0.82x on
5-7 pixel maps of 192 or 256 input channels (slower with fewer channels, and from 8 pixels on);
a cpu-peer step took 0.975x the time on 28-pixel windows with them, 0.96-1.00x on whole images.
So in bf16 training on a CPU, maps of at most 4 pixels take the forward convolution, those of
5-7 pixels and at least 192 input channels the matrix products; everything else (GPUs, float32,
evaluation) uses the plain convolution.
benchmarks/RESULTS.md, "Fast ConvNet on an Intel Xeon with AMX-BF16", has the figures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LARGEST_MAP = 4  # pixels per side taken as a forward convolution (the module docstring says why)
# as matrix products: 5-7 pixel maps with at least 192 input channels
LARGEST_MATRIX_PRODUCT_MAP = 7
FEWEST_MATRIX_PRODUCT_CHANNELS = 192


def plain_conv_backward(x: torch.Tensor, weight: torch.Tensor, grad_out: torch.Tensor, mask: list[bool]):
    """torch's own backward of F.conv2d(x, weight, padding=1) (oneDNN's kernels on a CPU):
    (grad_x, grad_weight, grad_bias), each None unless `mask` asks for it. Called directly:
    torch.nn.grad.conv2d_input, which passes a stand-in input, ran 10-18 % slower on 7-pixel maps."""
    return torch.ops.aten.convolution_backward(grad_out, x, weight, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                               mask)


def weight_grad_as_matrix_product(x: torch.Tensor, grad_out: torch.Tensor, images_per_part: int = 50) -> torch.Tensor:
    """dL/dW of a 3x3 convolution with padding 1, as matrix products: every output pixel's
    gradient (a row of O values) times the 3x3 neighbourhood of its input pixel (a row of 9 x C
    values, copied out of the padded input: "im2col"). Taken over parts of `images_per_part`
    images, which bounds the copy (8 MB for 50 images of 7x7x192, not 42 MB for 250; a step took
    the same time with parts of 50 to 250), and summed in float32 (or float64).
    x: (N, C, H, W), grad_out: (N, O, H, W) -> (O, C, 3, 3), in x's dtype."""
    n, c, h, w = x.shape
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1).contiguous()  # (N, H + 2, W + 2, C)
    per_image, per_row, per_pixel, per_channel = padded.stride()
    grad_rows = grad_out.permute(0, 2, 3, 1)  # (N, H, W, O)
    total = torch.zeros(grad_out.shape[1], 9 * c, dtype=torch.promote_types(x.dtype, torch.float32), device=x.device)
    for first in range(0, n, images_per_part):
        part = padded[first:first + images_per_part]
        # (images, H, W, 3, 3, C): a view in which each pixel sees its neighbourhood; reshape copies it out
        neighbourhoods = part.as_strided((len(part), h, w, 3, 3, c),
                                         (per_image, per_row, per_pixel, per_row, per_pixel, per_channel))
        rows = grad_rows[first:first + images_per_part].reshape(-1, grad_out.shape[1])
        total += rows.T @ neighbourhoods.reshape(len(rows), 9 * c)
    return total.view(-1, 3, 3, c).permute(0, 3, 1, 2).to(x.dtype)  # (O, 3, 3, C) -> (O, C, 3, 3)


def weight_grad_as_forward_conv(x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """dL/dW of a 3x3 convolution with padding 1. x: (N, C, H, W), grad_out: (N, O, H, W),
    both of one dtype -> (O, C, 3, 3) in that dtype."""
    images_as_channels = x.transpose(0, 1).contiguous(memory_format=torch.channels_last)  # (C, N, H, W)
    grads_as_filters = grad_out.transpose(0, 1).contiguous(memory_format=torch.channels_last)  # (O, N, H, W)
    return F.conv2d(images_as_channels, grads_as_filters, padding=1).transpose(0, 1)  # (C, O, 3, 3) -> (O, C, 3, 3)


class ConvWithOwnWeightGrad(torch.autograd.Function):
    """F.conv2d(x, weight, padding=1) whose backward takes the weight gradient from the function
    given (`weight_grad_as_forward_conv` or `weight_grad_as_matrix_product`); the input gradient
    is oneDNN's, as usual."""

    @staticmethod
    def forward(ctx, x, weight, weight_grad):
        ctx.save_for_backward(x, weight)
        ctx.weight_grad = weight_grad
        return F.conv2d(x, weight, padding=1)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_x = plain_conv_backward(x, weight, grad_out, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_weight = ctx.weight_grad(x, grad_out.to(x.dtype))
        return grad_x, grad_weight, None


def faster_weight_grad(side: int, c_in: int):
    """The weight-gradient route measured faster than oneDNN's for a bf16 map of `side` pixels
    and `c_in` input channels on a CPU, or None (then oneDNN's)."""
    if side <= LARGEST_MAP:
        return weight_grad_as_forward_conv
    if side <= LARGEST_MATRIX_PRODUCT_MAP and c_in >= FEWEST_MATRIX_PRODUCT_CHANNELS:
        return weight_grad_as_matrix_product
    return None


class SmallMapConv2d(nn.Conv2d):
    """nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), the same parameters and outputs,
    whose training backward on a CPU in bf16 takes a faster weight-gradient route on small maps
    (`faster_weight_grad`)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        bf16_training = (x.device.type == "cpu" and dtype == torch.bfloat16 and torch.is_grad_enabled()
                         and self.weight.requires_grad)
        weight_grad = faster_weight_grad(max(x.shape[-2:]), self.in_channels) if bf16_training else None
        if weight_grad is None:
            return super().forward(x)
        with torch.autocast("cpu", enabled=False):  # the casts are explicit: the weight's gradient returns in float32
            return ConvWithOwnWeightGrad.apply(x.to(dtype), self.weight.to(dtype), weight_grad)
