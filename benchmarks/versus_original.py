"""Benchmark for issue 14 on a GPU: fastnet against the original airbench94 code, whole
commands, on the same GPU and the same data.

    python benchmarks/versus_original.py --original PATH/airbench94.py \\
        --data ../shared/data/cifar10-jpeg.tar.gz --seeds 0 1 2

The original (`legacy/airbench94.py` of github.com/KellerJordan/cifar10-airbench; not part of
cifarlab, needs torchvision and CUDA) reads `cifar10/train.pt` and `test.pt` below its working
directory and would download CIFAR-10 without them: they are written from --data into a
scratch folder where it runs, one fresh process per run, as a user runs it. Per round:

- the original, one run: its own time (training plus its final TTA evaluation, CUDA events,
  as it prints it) and the wall time of the whole process;
- `cifarlab train fastnet --eval-every 0`: loop time (training plus the final evaluation,
  from metrics.json) and wall time;
- `cifarlab train fastnet` with its default evaluation after each epoch: the loop time at
  the first evaluation at or above --threshold (time to 90 %).

Further `cifarlab train` options go after `--`. Python's bytecode cache matters: where
PYTHONDONTWRITEBYTECODE is set, every process compiles every module it imports (about 6 s
on the H200 machine measured in benchmarks/RESULTS.md); the script says so when it is set.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from cifarlab.errors import CifarlabError
from train_process import train_once  # benchmarks/ is on the path when run as a script

RUN_ORIGINAL = "import airbench94; print('ACCURACY', float(airbench94.main(0)))"
ACCURACY = re.compile(r"^ACCURACY ([\d.]+)$", re.MULTILINE)
FINAL_ROW = re.compile(r"^\|\s*\|\s*eval\s*\|.*\|\s*([\d.]+)\s*\|\s*$", re.MULTILINE)  # its last column: total seconds


def write_original_data(data: str, folder: Path) -> None:
    """cifar10/{train,test}.pt as the original caches them: uint8 (N, 32, 32, 3) images."""
    import torch

    from cifarlab.data.store import load_cifar10, resolve_source

    raw = load_cifar10(resolve_source(data, progress=False), progress=False)
    (folder / "cifar10").mkdir()
    for split, images, labels in (("train", raw.train_images, raw.train_labels),
                                  ("test", raw.test_images, raw.test_labels)):
        torch.save({"images": torch.tensor(images), "labels": torch.tensor(labels), "classes": list(raw.classes)},
                   folder / "cifar10" / f"{split}.pt")


def run_original(folder: Path) -> dict:
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-c", RUN_ORIGINAL], cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - started
    accuracy, total = ACCURACY.search(finished.stdout), FINAL_ROW.search(finished.stdout)
    if finished.returncode or not (accuracy and total):
        raise SystemExit(f"the original failed (exit {finished.returncode}): {finished.stderr.strip()[-300:]}")
    return {"accuracy": float(accuracy.group(1)), "seconds": float(total.group(1)), "wall": wall}


def run_fastnet(seed: int, data: str, extra: list[str], threshold: float) -> dict:
    wall, history, metrics = train_once(["fastnet", "--seed", str(seed), "--data", data, *extra])
    reached = [s for s, a in zip(history["seconds"], history["test_accuracy"]) if a >= threshold]
    return {"accuracy": metrics["test_accuracy"], "seconds": metrics["train_seconds"], "wall": wall,
            "reached": reached[0] if reached else None}


def row(name: str, results: list[dict], with_reached: bool = False) -> str:
    each = " / ".join(f"{r['accuracy']:.2%}" for r in results)
    median = {key: statistics.median(r[key] for r in results) for key in ("accuracy", "seconds", "wall")}
    reached = "-"
    if with_reached:
        times = [r["reached"] for r in results]
        reached = " / ".join("not reached" if t is None else f"{t:.2f} s" for t in times)
    return (f"| {name} | {each} | {median['accuracy']:.2%} | {median['seconds']:.2f} s | {median['wall']:.2f} s "
            f"| {reached} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--original", required=True, type=Path, help="the original airbench94.py")
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="fastnet's seeds; the original runs once per seed (it draws its own)")
    parser.add_argument("--threshold", type=float, default=0.90, help="test accuracy whose time to reach is reported")
    parser.add_argument("extra", nargs="*", help="further `cifarlab train` options for every fastnet run, after --")
    args = parser.parse_args()
    if not args.original.is_file():
        parser.error(f"--original {args.original}: no such file")
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {device}, torch {torch.__version__}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("# PYTHONDONTWRITEBYTECODE is set: every process compiles its modules from source (slower start-up)")
    original, end_only, per_epoch = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        shutil.copy(args.original, folder / "airbench94.py")
        try:
            write_original_data(args.data, folder)
        except CifarlabError as exc:
            parser.error(str(exc))
        for seed in args.seeds:  # interleaved, so that a drifting machine is shared fairly
            original.append(run_original(folder))
            print(f"original: {original[-1]}", flush=True)
            end_only.append(run_fastnet(seed, args.data, ["--eval-every", "0", *args.extra], args.threshold))
            print(f"fastnet --eval-every 0, seed {seed}: {end_only[-1]}", flush=True)
            per_epoch.append(run_fastnet(seed, args.data, args.extra, args.threshold))
            print(f"fastnet, seed {seed}: {per_epoch[-1]}", flush=True)
    print(f"\n| run | test accuracy per run | median | its time (median) | whole command (median) "
          f"| time to {args.threshold:.0%} |")
    print("|---|---|---|---|---|---|")
    print(row("original airbench94", original))
    print(row("fastnet --eval-every 0", end_only))
    print(row("fastnet, evaluation after each epoch", per_epoch, with_reached=True))


if __name__ == "__main__":
    main()
