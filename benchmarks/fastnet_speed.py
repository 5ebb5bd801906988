"""Benchmark for issue 6: milliseconds per image of fastnet training and evaluation, by
width and batch size, next to the study's ConvNet measured in the same run.

    python benchmarks/fastnet_speed.py --threads 2 --repeats 5

Random images (speed does not depend on the pixels). A training step is forward, label-
smoothed loss, backward and a Nesterov SGD step in channels_last; evaluation is a forward
pass under torch.inference_mode(); bf16 rows run both under CPU autocast (native on CPUs
with AVX512-BF16 or AMX, emulated and slow elsewhere). Each figure is the median over
--repeats timings of --steps steps, after one warm-up step. The peer is the study's ConvNet
at its own batch sizes (train 32, evaluation 100), so the ratio says what one image costs
in each model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cifarlab.torch_nn.convnet import ConvNet
from cifarlab.torch_nn.fastnet import FastNet


def fastnet(widths):
    model = FastNet(widths=widths)
    model.init_whitening(torch.rand(256, 3, 32, 32))
    return model


def ms_per_image(model, batch: int, steps: int, repeats: int, train: bool, bf16: bool = False) -> float:
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    model.train(train)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.85,
                                nesterov=True)

    def step():
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            if train:
                loss = F.cross_entropy(model(x).float(), y, label_smoothing=0.2)
            else:
                with torch.inference_mode():
                    model(x)
        if train:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    step()  # warm-up: first-call allocations
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append((time.perf_counter() - started) / (steps * batch) * 1e3)
    return statistics.median(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps per timing")
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                        help="fastnet's precision (bf16: autocast, as --precision bf16 trains)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} x {args.steps} steps")
    print("\n| model | precision | batch | train ms/image | eval ms/image |")
    print("|---|---|---|---|---|")
    for widths in [(32, 128, 128), (48, 192, 192), (64, 256, 256)]:
        for precision in args.precisions:
            for batch in args.batches:
                torch.manual_seed(0)
                bf16 = precision == "bf16"
                train = ms_per_image(fastnet(widths), batch, args.steps, args.repeats, train=True, bf16=bf16)
                evaluate = ms_per_image(fastnet(widths), batch, args.steps, args.repeats, train=False, bf16=bf16)
                print(f"| fastnet {','.join(map(str, widths))} | {precision} | {batch} | {train:.2f} | {evaluate:.2f} |",
                      flush=True)
    torch.manual_seed(0)
    train = ms_per_image(ConvNet(), 32, args.steps * 8, args.repeats, train=True)
    evaluate = ms_per_image(ConvNet(), 100, args.steps * 3, args.repeats, train=False)
    print(f"| study ConvNet (peer) | fp32 | 32 / 100 | {train:.2f} | {evaluate:.2f} |")


if __name__ == "__main__":
    main()
