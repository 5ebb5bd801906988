"""Benchmark for issue 24: the three products of each of fastnet's 3x3 convolutions, one layer
at a time, on this machine: the forward pass, oneDNN's input gradient and weight gradient, and
the weight gradient as a forward convolution and as matrix products (`torch_nn/small_map_conv.py`),
which fastnet uses in bf16 on maps of at most `LARGEST_MAP` (4) pixels and on those of 5 to
`LARGEST_MATRIX_PRODUCT_MAP` (7) pixels with at least `FEWEST_MATRIX_PRODUCT_CHANNELS` (192) input channels.

    python benchmarks/conv_grads.py --threads 2 --windows 32 28 24 --dtypes bf16 fp32

Random tensors of one micro-batch (250 images, channels_last), the layer shapes of the given
block widths at each training window size. Each figure is the median of --repeats timings after
two warm-up calls; GFLOP/s counts 2 x images x pixels x 9 x c_in x c_out per product.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cifarlab.torch_nn.small_map_conv import (plain_conv_backward, weight_grad_as_forward_conv,
                                              weight_grad_as_matrix_product)

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}


def layer_shapes(widths: tuple[int, ...], window: int) -> list[tuple[int, int, int]]:
    """(c_in, c_out, map side) of fastnet's six 3x3 convolutions: the 2x2 whitening conv takes
    a pixel off, each block's max-pool halves the map (rounding down)."""
    shapes, channels, side = [], 24, window - 1
    for width in widths:
        shapes += [(channels, width, side), (width, width, side // 2)]
        channels, side = width, side // 2
    return shapes


def median_ms(work, repeats: int) -> float:
    work(), work()  # oneDNN prepares its kernels for the shape
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def time_layer(c_in: int, c_out: int, side: int, dtype, images: int, repeats: int) -> dict[str, float]:
    def tensor(*shape):
        return torch.randn(*shape).to(dtype).contiguous(memory_format=torch.channels_last)

    x, grad_out, weight = tensor(images, c_in, side, side), tensor(images, c_out, side, side), tensor(c_out, c_in, 3, 3)

    def onednn_backward(mask):
        return lambda: plain_conv_backward(x, weight, grad_out, mask)
    return {"forward": median_ms(lambda: F.conv2d(x, weight, padding=1), repeats),
            "input grad": median_ms(onednn_backward([True, False, False]), repeats),
            "weight grad": median_ms(onednn_backward([False, True, False]), repeats),
            "as forward conv": median_ms(lambda: weight_grad_as_forward_conv(x, grad_out), repeats),
            "as matrix products": median_ms(lambda: weight_grad_as_matrix_product(x, grad_out), repeats)}


def as_ratio(ms: dict[str, float], route: str) -> str:
    return f"{ms[route]:.2f} ({ms[route] / ms['weight grad']:.2f}x)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs=3, default=(64, 192, 256),
                        help="the cpu-peer preset's widths")
    parser.add_argument("--windows", type=int, nargs="+", default=(32, 28))
    parser.add_argument("--dtypes", nargs="+", choices=tuple(DTYPES), default=("bf16",))
    parser.add_argument("--images", type=int, default=250, help="the presets' micro-batch")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not all(16 <= window <= 32 for window in args.windows):
        parser.error("--windows: sizes from 16 to 32 pixels (fastnet's --small-crop range)")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.images} images, widths {args.widths}\n")
    print("| dtype | window | layer | map | forward ms | input grad ms | weight grad ms (GFLOP/s) "
          "| as forward conv ms (ratio) | as matrix products ms (ratio) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dtype_name in args.dtypes:
        for window in args.windows:
            for c_in, c_out, side in layer_shapes(tuple(args.widths), window):
                ms = time_layer(c_in, c_out, side, DTYPES[dtype_name], args.images, args.repeats)
                gflop = 2 * args.images * side * side * 9 * c_in * c_out / 1e9
                print(f"| {dtype_name} | {window} | {c_in} -> {c_out} | {side} | {ms['forward']:.2f} "
                      f"| {ms['input grad']:.2f} | {ms['weight grad']:.2f} ({gflop / ms['weight grad'] * 1e3:.0f}) "
                      f"| {as_ratio(ms, 'as forward conv')} | {as_ratio(ms, 'as matrix products')} |", flush=True)


if __name__ == "__main__":
    main()
