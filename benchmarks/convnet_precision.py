"""Benchmark for issue 11: the study's exact ConvNet protocol (`cifarlab train convnet`, the
course pipeline, 5000 steps, 10 evaluations on the whole train and test sets) in float32 and
under bf16 autocast (`--precision bf16`, what `cifarlab reproduce --fast` uses), one after the
other in one run, each a separate `cifarlab train` process.

    python benchmarks/convnet_precision.py --data ../shared/data/cifar10-jpeg.tar.gz --seeds 1 -- --threads 2
"""

from __future__ import annotations

import argparse
import platform
import statistics
from datetime import datetime, timezone

from train_process import train_once  # benchmarks/ is on the path when run as a script


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["fp32", "bf16"])
    parser.add_argument("extra", nargs="*", help="further `cifarlab train convnet` options, after --")
    args = parser.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.processor() or 'cpu'}")
    rows = {}
    for seed in args.seeds:
        for precision in args.precisions:
            wall, history, metrics = train_once(["convnet", "--precision", precision, "--seed", str(seed),
                                                 "--data", args.data, *args.extra])
            rows.setdefault(precision, []).append((wall, metrics))
            print(f"{precision} seed {seed}: wall {wall:.0f} s (loop {metrics['train_seconds']:.0f} s, of which "
                  f"evaluation {metrics['eval_seconds']:.0f} s); test {metrics['test_accuracy']:.2%} / "
                  f"{metrics['test_loss']:.3f}, train {metrics['train_accuracy']:.2%} / {metrics['train_loss']:.3f}",
                  flush=True)
    print("\n| precision | seeds | wall (median) | evaluation (median) | test accuracy (mean) | train accuracy (mean) |")
    print("|---|---|---|---|---|---|")
    for precision, results in rows.items():
        print(f"| {precision} | {len(results)} | {statistics.median(w for w, _ in results):.0f} s "
              f"| {statistics.median(m['eval_seconds'] for _, m in results):.0f} s "
              f"| {statistics.mean(m['test_accuracy'] for _, m in results):.2%} "
              f"| {statistics.mean(m['train_accuracy'] for _, m in results):.2%} |")


if __name__ == "__main__":
    main()
