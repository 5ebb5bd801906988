"""Train a model preset with several seeds and report median wall time and accuracy.

    python benchmarks/preset_runs.py --model numpy-mlp --preset best --seeds 1 2 3 \
        --data ../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import statistics

from train_process import train_once  # benchmarks/ is on the path when run as a script


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--data", required=True)
    parser.add_argument("extra", nargs="*", help="further `cifarlab train` options, after --")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        wall, _, metrics = train_once([args.model, "--preset", args.preset, "--seed", str(seed), "--data", args.data,
                                       *args.extra])
        rows.append((seed, wall, metrics["train_seconds"], metrics["test_accuracy"], metrics["test_loss"],
                     metrics["train_accuracy"], metrics["train_loss"]))
        print(f"seed {seed}: wall {wall:.1f} s, training loop {metrics['train_seconds']:.1f} s, "
              f"test {metrics['test_accuracy']:.2%} / {metrics['test_loss']:.3f}, "
              f"train {metrics['train_accuracy']:.2%} / {metrics['train_loss']:.3f}", flush=True)
    print(f"median of {len(rows)}: training loop {statistics.median(r[2] for r in rows):.1f} s, "
          f"wall {statistics.median(r[1] for r in rows):.1f} s, test accuracy {statistics.median(r[3] for r in rows):.2%}")


if __name__ == "__main__":
    main()
