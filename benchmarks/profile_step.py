"""Benchmark for issue 24: where a training step's time goes, for a fastnet preset and for the
airbench94 reference (`../shared/peers/airbench94_cpu.py`, run unchanged in a process of its
own under the same profiler), on this machine.

    python benchmarks/profile_step.py --preset cpu-peer --steps 3 --threads 2
    python benchmarks/profile_step.py --peer --steps 3 --threads 2 --peer-args=--no-bf16

Each run warms up with one step, then profiles --steps steps with torch.profiler and prints the
operators by their own CPU time (a table per run), the wall time per step and per image, and
the share of the step by kind of work (convolutions, batch norm, activations, pooling,
optimiser arithmetic, augmentation and copies). Random images: speed does not depend on pixels.
"""

from __future__ import annotations

import argparse
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from cifarlab.errors import CifarlabError
from cifarlab.process.memory_reuse import keep_freed_memory
from cifarlab.training.fastnet.config import PRESETS

PEER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "airbench94_cpu.py"
# operator name fragments -> kind of work, first match wins
KINDS = [("convolution", "convolution"), ("conv", "convolution"), ("batch_norm", "batch norm"),
         ("gelu", "activation"), ("silu", "activation"), ("max_pool", "pooling"), ("mm", "matmul (linear, Muon)"),
         ("addmm", "matmul (linear, Muon)"), ("bmm", "matmul (linear, Muon)"), ("copy_", "copies and layout"),
         ("clone", "copies and layout"), ("contiguous", "copies and layout"), ("to", "copies and layout"),
         ("gather", "augmentation"), ("flip", "augmentation"), ("pad", "augmentation"), ("index", "augmentation"),
         ("softmax", "loss"), ("nll", "loss"), ("cross_entropy", "loss")]


def kind_of(name: str) -> str:
    lowered = name.lower()
    for fragment, kind in KINDS:
        if fragment in lowered:
            return kind
    return "other (element-wise, optimiser steps, ...)"


def report(prof, steps: int, title: str) -> None:
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\n## {title}\n")
    print("| operator | calls per step | own CPU time per step (s) | share |\n|---|---|---|---|")
    for event in sorted(events, key=lambda e: -e.self_cpu_time_total)[:15]:
        print(f"| {event.key} | {event.count / steps:.0f} | {event.self_cpu_time_total / steps / 1e6:.3f} "
              f"| {event.self_cpu_time_total / total:.1%} |")
    kinds: dict[str, float] = {}
    for event in events:
        kinds[kind_of(event.key)] = kinds.get(kind_of(event.key), 0.0) + event.self_cpu_time_total
    print("\n| kind of work | own CPU time per step (s) | share |\n|---|---|---|")
    for kind, micros in sorted(kinds.items(), key=lambda item: -item[1]):
        print(f"| {kind} | {micros / steps / 1e6:.3f} | {micros / total:.1%} |")


def profile_preset(preset: str, steps: int, small_windows: bool, options: dict) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from train_process import fastnet_to_time

    from cifarlab.training.runtime import Runtime

    recipe = {**PRESETS[preset], **options}
    if recipe.get("reuse_memory", Runtime.reuse_memory):  # as `cifarlab train` does on a CPU
        keep_freed_memory()
    learner, x, y = fastnet_to_time(recipe, small_windows)  # after its warm-up step
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        for _ in range(steps):
            learner.train_step(x, y, 0.5)
        seconds = time.perf_counter() - started
    windows = f"{learner.cfg.small_crop}-pixel windows" if small_windows else "whole images"
    report(prof, steps, f"fastnet {preset} ({windows}, autocast {learner.autocast_dtype or 'off (fp32)'}): "
                        f"{seconds / steps:.3f} s wall per step, {seconds / steps / len(x) * 1e3:.2f} ms per image")


def profile_peer_in_this_process(steps: int, peer_args: list[str]) -> None:
    """Run the reference program unchanged (`--bench-steps`) under the profiler."""
    sys.argv = [str(PEER), "--bench-steps", str(steps + 1), "--no-epoch-eval", *peer_args]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        runpy.run_path(str(PEER), run_name="__main__")
    # the whole program ran under the profiler; its own "steps after the first" line gives the wall time
    report(prof, steps + 1, "airbench94_cpu reference (the whole program: set-up, warm-up step and steps; "
                            "per step = divided by the steps + 1)")


def name_and_value(item: str) -> tuple[str, object]:
    """'micro_batch_size=250' -> ('micro_batch_size', 250): one --set item, its value typed."""
    name, equals, value = item.partition("=")
    if not (name and equals):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {item!r}")
    return name, number_or_text(value)


def number_or_text(value: str):
    """'250' -> 250, '0.1' -> 0.1, 'false' -> False, anything else stays text."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="cpu-peer", choices=sorted(PRESETS))
    parser.add_argument("--small-windows", action="store_true", help="profile the preset's small-window steps")
    parser.add_argument("--peer", action="store_true", help="profile the reference instead")
    parser.add_argument("--peer-args", default="", help="further reference options, quoted")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", type=name_and_value,
                        help="recipe values over the preset's, e.g. brightness=0 contrast=0 precision=fp32 "
                             "reuse_memory=false")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu: {os.uname().machine}")
    if args.peer and not args.in_process:  # a process of its own, as the benchmarks always run the peer
        command = [sys.executable, __file__, "--peer", "--in-process", "--steps", str(args.steps),
                   "--threads", str(args.threads), f"--peer-args={args.peer_args}"]
        raise SystemExit(subprocess.run(command).returncode)
    if args.peer:
        profile_peer_in_this_process(args.steps, args.peer_args.split() + ["--threads", str(args.threads)])
    else:
        try:
            profile_preset(args.preset, args.steps, args.small_windows, dict(args.set))
        except CifarlabError as exc:  # an unknown option or a bad value: the user's mistake, in one line
            parser.error(str(exc))


if __name__ == "__main__":
    main()
