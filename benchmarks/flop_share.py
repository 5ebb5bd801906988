"""How close fastnet's training steps come to this CPU's limit.

    python benchmarks/flop_share.py --threads 2 --presets airbench94 cpu85 cpu-peer --repeats 3

For each preset: the FLOPs of one training step (torch.utils.flop_counter: convolutions and
matrix products, forward, backward and Muon's iterations) on whole images and, where the
preset trains on small windows first, on those; the step's measured time (median of
--repeats after a warm-up step, random images: speed does not depend on the pixels); the
achieved FLOP/s as a share of the fastest matrix product torch runs here in the same precision
(a square product of --size, best of five); and the FLOPs of a whole run's training (its epochs
of each kind over 50,000 images, less the images --skip-easiest leaves out; the final
evaluation is not counted).

`airbench94` is the published recipe's network and batch as fastnet builds them (widths 64,
256, 256, SGD, batch 1024), the stand-in for the reference `../shared/peers/airbench94_cpu.py`,
which this script does not import. Every network runs in the precision its preset resolves to
here (`auto`: bf16 where the CPU computes it natively, else float32), as the reference does
under versus_peer.py's `--peer-precision auto`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from train_process import learner_for  # benchmarks/ is on the path when run as a script

from cifarlab.training.fastnet.config import PRESETS
from cifarlab.training.fastnet.recipe import window_sizes
from cifarlab.training.resolve import resolve
from cifarlab.training.runtime import cpu_model_and_generation, native_bf16

TRAIN_IMAGES = 50_000


def matmul_rate(dtype: torch.dtype, size: int) -> float:
    """FLOP/s of the fastest of five size x size products in `dtype`, after a warm-up."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    times = []
    for _ in range(5):
        started = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - started)
    return 2 * size**3 / min(times)


def trained_epochs(start: float, end: float, recipe) -> float:
    """Passes over the training set that epochs `start` to `end` of `recipe` train on: fewer
    where --skip-easiest leaves a share of each batch out."""
    skipped = max(0.0, end - max(start, recipe.skip_from_epoch)) if recipe.skip_easiest else 0.0
    return end - start - recipe.skip_easiest * skipped


def step_learner(preset: str, window: int | None):
    """A learner of `preset` that trains every step on whole images (window None) or on windows
    of this side."""
    options = {**PRESETS[preset], "eval_batch_size": 250, "precision": "auto"}  # airbench94's own default: bf16
    options.update({"small_crop": window, "small_crop_epochs": 1e9, "small_crop_growth": False} if window
                   else {"small_crop_epochs": 0.0})
    return learner_for("fastnet", **options)


def measure_step(learner, repeats: int) -> tuple[int, float]:
    """(FLOPs, median seconds) of one training step on a batch of random images."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((learner.cfg.batch_size, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    learner.train_step(x, y, 0.5)  # warm-up; sets the whitening layer
    learner.step = 1_000_000  # past the first epochs: the whitening bias frozen, as for most of a run
    with FlopCounterMode(display=False) as counter:
        learner.train_step(x, y, 0.5)
    seconds = []
    for _ in range(repeats):
        learner.step = 1_000_000
        started = time.perf_counter()
        learner.train_step(x, y, 0.5)
        seconds.append(time.perf_counter() - started)
    return counter.get_total_flops(), statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["airbench94", "cpu85", "cpu-peer"], choices=sorted(PRESETS))
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=2048, help="side of the square matrix product timed for the peak")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads:
        torch.set_num_threads(args.threads)
    # emulated bf16 (no native support) runs at a few GFLOP/s: minutes for one product, and no preset uses it
    peaks = {"fp32": matmul_rate(torch.float32, args.size),
             "bf16": matmul_rate(torch.bfloat16, args.size) if native_bf16() else float("nan")}
    print(f"# {cpu_model_and_generation()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.size}x{args.size} matrix product: fp32 {peaks['fp32'] / 1e12:.3f} TFLOP/s, bf16 "
          + (f"{peaks['bf16'] / 1e12:.3f} TFLOP/s" if native_bf16() else "emulated (not measured)"), flush=True)
    print("\n| preset | precision | images | step FLOPs per image | step time | achieved | share of the peak "
          "| training FLOPs of a run |")
    print("|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        recipe = resolve("fastnet", preset=preset)[0]  # its epochs and windows as a run resolves them
        window_epochs = recipe.small_crop_epochs if recipe.small_crop else 0.0
        kinds = [("whole", None, trained_epochs(window_epochs, recipe.epochs, recipe))]
        sizes = window_sizes(recipe.small_crop, recipe.small_crop_growth, 32)
        share = window_epochs / len(sizes)
        kinds += [(f"{size}x{size} windows", size, trained_epochs(index * share, (index + 1) * share, recipe))
                  for index, size in enumerate(sizes) if window_epochs]
        run_flops, rows = 0.0, []
        for name, window, epochs in kinds:
            learner = step_learner(preset, window)
            precision = "bf16" if learner.autocast_dtype == torch.bfloat16 else "fp32"
            flops, seconds = measure_step(learner, args.repeats)
            per_image = flops / learner.cfg.batch_size
            run_flops += per_image * TRAIN_IMAGES * epochs
            rows.append((name, precision, per_image, seconds, flops / seconds, flops / seconds / peaks[precision]))
        for index, (name, precision, per_image, seconds, rate, share) in enumerate(rows):
            total = f"{run_flops / 1e15:.3f} PFLOP" if index == 0 else ""
            print(f"| {preset} | {precision} | {name} | {per_image / 1e6:.0f} MFLOP | {seconds:.2f} s "
                  f"| {rate / 1e12:.3f} TFLOP/s | {share:.0%} | {total} |", flush=True)


if __name__ == "__main__":
    main()
