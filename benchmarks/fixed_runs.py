"""Final metrics of a fixed set of short runs, printed in full precision: run it before and after
a change to the training code, on the same machine, and the two tables must be identical.

    python benchmarks/fixed_runs.py --data ../shared/data/cifar10-jpeg.tar.gz [--only NAME ...]

Each run is `cifarlab train ...` in a process of its own, as a user runs it (the two-process one
under torchrun); the output is one Markdown table plus a JSON file (--json) to diff. On a CPU
without native bf16 the fastnet presets' bf16 autocast is emulated and very slow (30 steps of
cpu85 took over 20 minutes on an AMD EPYC without AVX512): `--precision fp32` runs those two in
float32, through the same code but for the autocast.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = {
    "numpy-mlp": ["numpy-mlp", "--steps", "300"],
    "mlp study-best": ["mlp", "--preset", "study-best", "--steps", "300"],
    "mlp batch-norm function": ["mlp", "--batch-norm", "function", "--steps", "200"],
    "convnet": ["convnet", "--steps", "100"],
    "fastnet cpu85": ["fastnet", "--preset", "cpu85", "--steps", "30"],
    "fastnet cpu-peer": ["fastnet", "--preset", "cpu-peer", "--steps", "30"],
    "mlp torchrun x2": ["mlp", "--steps", "200", "--distributed", "--device", "cpu"],
}
SHOWN = ("step", "test_accuracy", "test_loss", "train_accuracy", "train_loss")


def run(name: str, args: list[str], data: str, precision: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        launcher = [sys.executable, "-m", "cifarlab"]
        if "--distributed" in args:
            launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "cifarlab"]
        command = [*launcher, "train", *args, "--data", data, "--out", f"{out}/run", "--quiet"]
        if precision and "--preset" in args and args[0] == "fastnet":
            command += ["--precision", precision]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode:
            sys.exit(f"{name}: exit {finished.returncode}: {finished.stderr.strip().splitlines()[-1:]}")
        metrics = json.loads(Path(f"{out}/run/metrics.json").read_text())
    return {key: metrics[key] for key in SHOWN}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 source (the JPEG copy's tar.gz)")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="run only these")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--precision", choices=("fp32", "bf16"), help="run the fastnet presets in this precision")
    args = parser.parse_args()
    results = {}
    print("| run | step | test accuracy | test loss | train accuracy | train loss |\n|---|---|---|---|---|---|")
    for name in args.only or RUNS:
        results[name] = metrics = run(name, RUNS[name], args.data, args.precision)
        print(f"| {name} | " + " | ".join(repr(metrics[key]) for key in SHOWN) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
