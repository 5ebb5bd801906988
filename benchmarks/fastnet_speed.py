"""Benchmark for issue 6: milliseconds per image of fastnet training and evaluation, by
width and batch size, next to the study's ConvNet measured in the same run.

    python benchmarks/fastnet_speed.py --threads 2 --repeats 5

Random images (speed does not depend on the pixels). Both models are the library's own
learners, built through the model registry as `cifarlab train` builds them, and timed
through their own `train_step` (augmentation, forward, label-smoothed loss, backward,
Nesterov SGD, lookahead) and `logits` (evaluation, with fastnet's default mirror
test-time augmentation: two forward passes per image). bf16 rows run under CPU autocast
(`--precision bf16`: native on CPUs with AVX512-BF16 or AMX, emulated and slow elsewhere).
Each figure is the median over --repeats timings of --steps steps, after one warm-up step
(which also sets fastnet's whitening layer). The peer is the study's ConvNet at its own
batch sizes (train 32, evaluation 100), so the ratio says what one image costs in each model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from train_process import learner_for  # benchmarks/ is on the path when run as a script

from cifarlab.training.runtime import Runtime


def ms_per_image(learner, batch: int, steps: int, repeats: int, train: bool) -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        if train:
            learner.train_step(x, y, 1e-3)
        else:
            learner.logits(x)

    step()  # warm-up: first-call allocations (and fastnet's whitening, from this batch)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append((time.perf_counter() - started) / (steps * batch) * 1e3)
    return statistics.median(timings)


def fastnet(widths, batch: int, precision: str):
    return learner_for("fastnet", Runtime(device="cpu", precision=precision), widths=widths, batch_size=batch,
                       eval_batch_size=batch)


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
                train = ms_per_image(fastnet(widths, batch, precision), batch, args.steps, args.repeats, train=True)
                evaluate = ms_per_image(fastnet(widths, batch, precision), batch, args.steps, args.repeats,
                                        train=False)
                print(f"| fastnet {','.join(map(str, widths))} | {precision} | {batch} | {train:.2f} | {evaluate:.2f} |",
                      flush=True)
    train = ms_per_image(learner_for("convnet"), 32, args.steps * 8, args.repeats, train=True)
    evaluate = ms_per_image(learner_for("convnet"), 100, args.steps * 3, args.repeats, train=False)
    print(f"| study ConvNet (peer) | fp32 | 32 / 100 | {train:.2f} | {evaluate:.2f} |")


if __name__ == "__main__":
    main()
