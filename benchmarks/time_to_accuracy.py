"""Benchmark for issue 6: time to 85 % and 90 % test accuracy, fastnet presets against the
study's ConvNet protocol, in one run on one machine.

    python benchmarks/time_to_accuracy.py --data ../shared/data/cifar10-jpeg.tar.gz \
        --runs fastnet:cpu85 fastnet:cpu-peer convnet:study --seeds 1 2 3 --convnet-seeds 1

Each run is a separate `python -m cifarlab train` process. Reported per run: the wall time
of the whole command (start-up, data loading, training, every evaluation, writing files),
the final test accuracy, and for each threshold the loop time (training plus the
evaluations so far) at the first evaluation that reached it. A fastnet preset is a fixed
budget, so its wall time is the time to its final accuracy; the ConvNet protocol evaluates
every 500 steps, which gives its curve.
"""

from __future__ import annotations

import argparse
import platform
import statistics
from datetime import datetime, timezone

from train_process import TrainFailed, train_once  # benchmarks/ is on the path when run as a script


def run_once(model: str, preset: str, seed: int, data: str, extra: list[str], thresholds: list[float]) -> dict:
    try:
        wall, history, metrics = train_once([model, "--preset", preset, "--seed", str(seed), "--data", data, *extra])
    except TrainFailed as failure:
        raise SystemExit(f"{model}:{preset} seed {seed} failed ({failure})") from None
    reached = {}
    for threshold in thresholds:
        hits = [s for s, acc in zip(history["seconds"], history["test_accuracy"]) if acc >= threshold]
        reached[threshold] = hits[0] if hits else None
    return {"wall": wall, "final": metrics["test_accuracy"], "best": max(history["test_accuracy"]),
            "curve": list(zip(history["seconds"], history["test_accuracy"])), "reached": reached}


def describe(seconds):
    return "not reached" if seconds is None else f"{seconds:.0f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--runs", nargs="+", default=["fastnet:cpu85", "fastnet:cpu-peer", "convnet:study"],
                        help="MODEL:PRESET pairs, run in this order")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds of the fastnet runs")
    parser.add_argument("--convnet-seeds", type=int, nargs="+", default=[1], help="seeds of the ConvNet runs")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.85, 0.90],
                        help="test accuracies whose time to reach is reported (GPU: 0.93 0.94)")
    parser.add_argument("extra", nargs="*", help="further `cifarlab train` options for every run, after --")
    args = parser.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.processor() or 'cpu'}")
    rows = []
    for pair in args.runs:
        model, preset = pair.split(":")
        seeds = args.convnet_seeds if model == "convnet" else args.seeds
        results = []
        for seed in seeds:
            result = run_once(model, preset, seed, args.data, args.extra, args.thresholds)
            results.append(result)
            curve = ", ".join(f"{acc:.1%}@{s:.0f}s" for s, acc in result["curve"])
            print(f"{pair} seed {seed}: wall {result['wall']:.1f} s, final test {result['final']:.2%}; "
                  + "; ".join(f"{t:.0%} at {describe(result['reached'][t])}" for t in args.thresholds)
                  + f"; curve {curve}", flush=True)
        rows.append((pair, seeds, results))
    print("\n| run | seeds | final test accuracy (median) | wall time (median) | "
          + " | ".join(f"to {t:.0%}" for t in args.thresholds) + " |")
    print("|---|---|---|---|" + "---|" * len(args.thresholds))
    for pair, seeds, results in rows:
        times = []
        for threshold in args.thresholds:
            hits = [r["reached"][threshold] for r in results]
            times.append(describe(statistics.median(hits)) if all(h is not None for h in hits)
                         else f"not reached by {sum(h is None for h in hits)} of {len(hits)}")
        print(f"| {pair} | {' '.join(map(str, seeds))} | {statistics.median(r['final'] for r in results):.2%} "
              f"| {statistics.median(r['wall'] for r in results):.1f} s | " + " | ".join(times) + " |")


if __name__ == "__main__":
    main()
