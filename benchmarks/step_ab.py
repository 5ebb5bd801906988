"""Benchmark for issue 24: a fastnet training step with one speed change on and off, on this
machine. The changes:

- memory-reuse: process/memory_reuse.py (glibc keeps the memory a step frees for the next step;
  `cifarlab train` does so on a CPU unless given --no-reuse-memory);
- matrix-products: the weight gradient of 5-7 pixel maps as matrix products
  (torch_nn/small_map_conv.py; off: oneDNN's kernel, as before 2026-12-02);
- silu: the preset with `--activation silu`, against it with `--activation gelu` (unlike the two
  above, this changes what is computed: its accuracy is measured by training runs, not here).

    python benchmarks/step_ab.py --change memory-reuse --preset cpu-peer --rounds 3 --threads 2
    python benchmarks/step_ab.py --change matrix-products --small-windows --rounds 3 --threads 2

Each round starts two fresh processes, one with the change and one without, in alternating
order. Each builds the preset's learner, runs 4 warm-up steps on random images (whole, or the
preset's small windows with --small-windows), then times --steps steps, and reports the median
step, and for the whole process its page faults, system time and peak resident memory
(getrusage). Not under torch.profiler: in profile_step.py memory reuse made no difference to a
step (2026-12-02, Xeon-AMX), for a reason not looked into.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cifarlab.training.fastnet.config import PRESETS  # names only: no torch

CHANGES = ("memory-reuse", "matrix-products", "silu")


def time_steps(preset: str, small_windows: bool, steps: int, threads: int, change: str, on: bool) -> dict:
    import torch

    from cifarlab.process.memory_reuse import keep_freed_memory
    from cifarlab.torch_nn import small_map_conv

    sys.path.insert(0, str(Path(__file__).parent))
    from train_process import fastnet_to_time

    torch.set_num_threads(threads)
    if change == "memory-reuse":
        on = keep_freed_memory() if on else False  # False where glibc is not the allocator
    else:
        keep_freed_memory()
        if change == "matrix-products" and not on:
            small_map_conv.LARGEST_MATRIX_PRODUCT_MAP = 0
    recipe = dict(PRESETS[preset])
    if change == "silu":
        recipe["activation"] = "silu" if on else "gelu"
    learner, x, y = fastnet_to_time(recipe, small_windows)
    for _ in range(3):
        learner.train_step(x, y, 0.5)
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        learner.train_step(x, y, 0.5)
        seconds.append(time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"on": on, "step": statistics.median(seconds), "faults": usage.ru_minflt,
            "system_s": usage.ru_stime, "peak_gb": usage.ru_maxrss / 2**20}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--change", choices=CHANGES, required=True)
    parser.add_argument("--preset", default="cpu-peer", choices=sorted(set(PRESETS) - {"airbench94"}))
    parser.add_argument("--small-windows", action="store_true", help="time the preset's small-window steps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1 or args.steps < 1:
        parser.error("--rounds and --steps must be at least 1")
    if args.child:
        print(json.dumps(time_steps(args.preset, args.small_windows, args.steps, args.threads, args.change,
                                    args.child == "on")))
        return
    print(f"{args.change}, {args.preset}, {'small windows' if args.small_windows else 'whole images'}\n\n"
          "| round | change | median step (s) | page faults | system time (s) | peak resident (GB) |\n"
          "|---|---|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        for mode in (("on", "off") if round_ % 2 else ("off", "on")):
            command = [sys.executable, __file__, "--child", mode, "--change", args.change, "--preset", args.preset,
                       "--steps", str(args.steps), "--threads", str(args.threads)]
            command += ["--small-windows"] if args.small_windows else []
            result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            print(f"| {round_} | {'on' if result['on'] else 'off'} | {result['step']:.3f} | {result['faults']:,} "
                  f"| {result['system_s']:.2f} | {result['peak_gb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
