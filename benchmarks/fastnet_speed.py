"""Benchmark for issue 6: milliseconds per image of fastnet training and evaluation, by
width and batch size, next to the study's ConvNet measured in the same run.

    python benchmarks/fastnet_speed.py --threads 2 --repeats 5

Random images (speed does not depend on the pixels). A training step is forward, label-
smoothed loss, backward and a Nesterov SGD step in channels_last; evaluation is a forward
pass under torch.inference_mode(). Each figure is the median over --repeats timings of
--steps steps, after one warm-up step. The peer is the study's ConvNet at its own batch
sizes (train 32, evaluation 100), so the ratio says what one image costs in each model.
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


def ms_per_image(model, batch: int, steps: int, repeats: int, train: bool) -> float:
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    model.train(train)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.85,
                                nesterov=True)

    def step():
        if train:
            loss = F.cross_entropy(model(x), y, label_smoothing=0.2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            with torch.inference_mode():
                model(x)

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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} x {args.steps} steps")
    print("\n| model | batch | train ms/image | eval ms/image |")
    print("|---|---|---|---|")
    for widths in [(32, 128, 128), (48, 192, 192), (64, 256, 256)]:
        for batch in args.batches:
            torch.manual_seed(0)
            train = ms_per_image(fastnet(widths), batch, args.steps, args.repeats, train=True)
            evaluate = ms_per_image(fastnet(widths), batch, args.steps, args.repeats, train=False)
            print(f"| fastnet {','.join(map(str, widths))} | {batch} | {train:.2f} | {evaluate:.2f} |", flush=True)
    torch.manual_seed(0)
    train = ms_per_image(ConvNet(), 32, args.steps * 8, args.repeats, train=True)
    evaluate = ms_per_image(ConvNet(), 100, args.steps * 3, args.repeats, train=False)
    print(f"| study ConvNet (peer) | 32 / 100 | {train:.2f} | {evaluate:.2f} |")


if __name__ == "__main__":
    main()
