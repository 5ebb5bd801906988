"""Benchmark for issue 14: what one training image costs fastnet under the CPU presets'
recipe (Muon, batches of 1000 in micro-batches of 250, bf16), by block widths, training
window size (`--small-crop`) and whether the whitening bias still learns (it freezes after
3 epochs, and from then on its gradient is not computed).

    python benchmarks/step_cost.py --threads 2 --repeats 5

Random images (speed does not depend on the pixels), the library's own learner built
through the model registry, timed through its own `train_step` (augmentation, forward,
loss, backward, optimiser) and, for the evaluation column, `logits` with the presets'
translate TTA (six views per image). Each figure is the median over --repeats timings of
one step, after one warm-up step; rows are timed in turn, --repeats times round, so that
a machine that drifts is shared fairly. The ratio is to the first row, the full-width
network on whole images while the bias learns (what an epoch of the published recipe's
shape costs). A preset's cost in full-width epochs is the sum of its epochs' ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from train_process import learner_for  # benchmarks/ is on the path when run as a script

from cifarlab.training.fastnet.config import CPU

BATCH = 1000
ROWS = [((64, 256, 256), 32, True), ((64, 256, 256), 32, False), ((64, 256, 256), 28, True),
        ((64, 256, 256), 28, False), ((64, 192, 256), 32, True), ((64, 192, 256), 32, False),
        ((64, 192, 256), 28, True), ((64, 192, 256), 28, False), ((64, 192, 256), 24, False),
        ((32, 128, 128), 32, True), ((32, 128, 128), 32, False)]


def learner(widths, size: int):
    crop = {"small_crop": size, "small_crop_epochs": 1e9} if size != 32 else {}  # small windows at every step
    return learner_for("fastnet", **{**CPU, "eval_batch_size": 250}, widths=widths, **crop)


def train_seconds(model, x, y, bias_learns: bool) -> float:
    model.step = 1 if bias_learns else 1_000_000  # the whitening bias learns for the first 150 steps
    started = time.perf_counter()
    model.train_step(x, y, 0.5)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    learners = {row: learner(*row[:2]) for row in ROWS}
    for model in learners.values():
        model.train_step(x, y, 0.5)  # warm-up, and the whitening layer set from this batch
    train = {row: [] for row in ROWS}
    evaluate = {row: [] for row in ROWS}
    for _ in range(args.repeats):
        for row, model in learners.items():
            train[row].append(train_seconds(model, x, y, row[2]) / BATCH * 1e3)
            if row[1] == 32 and row[2]:
                started = time.perf_counter()
                model.logits(x[:500])
                evaluate[row].append((time.perf_counter() - started) / 500 * 1e3)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH} (micro-batches of 250), "
          f"bf16, median of {args.repeats}")
    print("\n| widths | training window | whitening bias | train ms/image | ratio | eval ms/image (6 views) |")
    print("|---|---|---|---|---|---|")
    reference = statistics.median(train[ROWS[0]])
    for widths, size, bias_learns in ROWS:
        cost = statistics.median(train[(widths, size, bias_learns)])
        views = evaluate[(widths, size, bias_learns)]
        print(f"| {','.join(map(str, widths))} | {size}x{size} | {'learns' if bias_learns else 'frozen'} "
              f"| {cost:.3f} | {cost / reference:.2f} | {f'{statistics.median(views):.3f}' if views else '-'} |")


if __name__ == "__main__":
    main()
