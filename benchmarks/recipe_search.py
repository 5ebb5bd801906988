"""Screen fastnet recipe variants for accuracy: each variant x each seed is one
`cifarlab train fastnet` process, several at a time (for a GPU, which has room for them).

    python benchmarks/recipe_search.py --data ../shared/data/cifar10-jpeg.tar.gz --parallel 4 \
        --variant base "--preset cpu-peer" --variant bs128 "--preset cpu-peer --batch-size 128" \
        --seeds 1 2 3 4 -- --device cuda --precision fp32

Accuracy is what this measures: final test accuracy does not depend on the device beyond
float noise, so variants of the CPU presets can be compared on a GPU in seconds each and the
winner then timed on the CPU (benchmarks/time_to_accuracy.py). Times printed here are loop
times of processes sharing one device: use them to compare variants, not as speeds.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
from concurrent.futures import ThreadPoolExecutor

from train_process import TrainFailed, train_once  # benchmarks/ is on the path when run as a script


def run_variant(args: list[str], seed: int, data: str) -> dict:
    try:
        _, history, metrics = train_once(["fastnet", *args, "--seed", str(seed), "--data", data])
    except TrainFailed as failure:
        return {"error": str(failure)}
    return {"final": metrics["test_accuracy"], "seconds": history["seconds"][-1], "steps": history["step"][-1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--variant", nargs=2, action="append", required=True, metavar=("NAME", "OPTIONS"),
                        help="a name and its `cifarlab train fastnet` options, quoted as one argument (a single "
                             "option needs a leading space, \" --tta-translate\", or argparse takes it for its own)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
    parser.add_argument("extra", nargs="*", help="options for every run, after --")
    args = parser.parse_args()
    jobs = [(name, shlex.split(options) + args.extra, seed) for name, options in args.variant for seed in args.seeds]
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = [pool.submit(run_variant, options, seed, args.data) for _, options, seed in jobs]
        results = {}
        for (name, _, seed), future in zip(jobs, futures):
            result = future.result()
            results.setdefault(name, []).append(result)
            line = result.get("error") or (f"test {result['final']:.2%}, {result['steps']} steps, "
                                           f"loop {result['seconds']:.1f} s")
            print(f"{name} seed {seed}: {line}", flush=True)
    print("\n| variant | options | test accuracy per seed | median | mean |")
    print("|---|---|---|---|---|")
    for name, options in args.variant:
        finals = [r["final"] for r in results[name] if "final" in r]
        if not finals:
            print(f"| {name} | `{options}` | failed | | |")
            continue
        print(f"| {name} | `{options}` | {' / '.join(f'{a:.2%}' for a in finals)} "
              f"| {statistics.median(finals):.2%} | {statistics.mean(finals):.2%} |")


if __name__ == "__main__":
    main()
