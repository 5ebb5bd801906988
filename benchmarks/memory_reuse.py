"""Benchmark for issue 24: a fastnet training step with and without train/memory_reuse.py
(glibc keeping the memory a step frees for the next step), on this machine.

    python benchmarks/memory_reuse.py --preset cpu-peer --rounds 3 --threads 2

Each round starts two fresh processes, one that keeps freed memory (as `cifarlab train` does on
a CPU) and one that does not (`--no-reuse-memory`), in alternating order. Each builds the preset's
learner, runs 4 warm-up steps on random images of whole size, then times --steps steps, and
reports the median step, and for the whole process its page faults, system time and peak
resident memory (getrusage). Not under torch.profiler: in profile_step.py both ways ran a step in
the same time (2026-12-02, Xeon-AMX), for a reason not looked into.
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


def time_steps(preset: str, steps: int, threads: int, keep: bool) -> dict:
    import torch

    from cifarlab.train.fastnet.config import PRESETS
    from cifarlab.train.memory_reuse import keep_freed_memory

    sys.path.insert(0, str(Path(__file__).parent))
    from train_process import fastnet_after_one_step

    torch.set_num_threads(threads)
    applied = keep_freed_memory() if keep else False
    learner, x, y = fastnet_after_one_step(**{**PRESETS[preset], "small_crop": 0, "small_crop_epochs": 0.0})
    learner.step = 100_000  # past the whitening bias's epochs, as in most of a run
    for _ in range(3):
        learner.train_step(x, y, 0.5)
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        learner.train_step(x, y, 0.5)
        seconds.append(time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"kept": applied, "step": statistics.median(seconds), "faults": usage.ru_minflt,
            "system_s": usage.ru_stime, "peak_gb": usage.ru_maxrss / 2**20}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cpu-peer", choices=("cpu85", "cpu90", "cpu-peer"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=("keep", "return"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1 or args.steps < 1:
        parser.error("--rounds and --steps must be at least 1")
    if args.child:
        print(json.dumps(time_steps(args.preset, args.steps, args.threads, args.child == "keep")))
        return
    print("| round | memory | median step (s) | page faults | system time (s) | peak resident (GB) |\n"
          "|---|---|---|---|---|---|")
    for round_ in range(1, args.rounds + 1):
        for mode in (("keep", "return") if round_ % 2 else ("return", "keep")):
            command = [sys.executable, __file__, "--child", mode, "--preset", args.preset,
                       "--steps", str(args.steps), "--threads", str(args.threads)]
            result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            label = "kept for the next step" if result["kept"] else "returned to the OS"
            print(f"| {round_} | {label} | {result['step']:.3f} | {result['faults']:,} | {result['system_s']:.2f} "
                  f"| {result['peak_gb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
