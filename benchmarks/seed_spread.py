"""Benchmark for issue 24: what the seeds recorded by `benchmarks/versus_peer.py --record` say
beyond one call's three seeds each.

    python benchmarks/seed_spread.py benchmarks/records/versus_peer.jsonl --cpu Xeon

A side-by-side of three seeds each compares two medians of three, each of which moves with
the seeds drawn (0.15 points per seed for the reference on a 2-core Xeon): when a preset sits
near the reference's accuracy, one call passes or fails by the seeds. So, for each processor and
set of options in the record, this prints every run's seeds (count, median, mean, standard
deviation of the test accuracy) and, for each preset beside the reference, the difference of
the mean accuracies with its standard error, the time ratios of the calls that ran both sides,
and how often a side-by-side of --seeds seeds each would find the preset at or above the
reference's median: the recorded seeds of each side drawn with replacement, 10,000 times.

Runs are told apart by their code (a hash of cifarlab's source; since 2026-12-02 without its
docstrings and comments): a change that does not touch the numerics (a refactoring, or a docstring
in records written before) makes a new code, so one preset may appear more than once;
`--pool CODE,CODE` counts such codes as one, for every run (so pool only codes under which all the
runs read kept their numerics, or read the rows of those that did; say so beside what it prints).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from versus_peer import KEY_FIELDS, PEER_RUN, within_calls  # benchmarks/ is on the path when run as a script


def chance_at_or_above(ours: list[float], reference: list[float], seeds: int, draws: int = 10_000,
                       seed: int = 0) -> float:
    """The share of `draws` side-by-sides, `seeds` accuracies drawn with replacement from each
    list, in which our median is at or above the reference's."""
    rng = np.random.default_rng(seed)
    our_medians = np.median(rng.choice(ours, (draws, seeds)), axis=1)
    reference_medians = np.median(rng.choice(reference, (draws, seeds)), axis=1)
    return float(np.mean(our_medians >= reference_medians - 1e-9))  # "at or above": a tie passes


def describe(accuracies: list[float]) -> str:
    if not accuracies:
        return "0 | - | - | -"
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else float("nan")
    return (f"{len(accuracies)} | {statistics.median(accuracies):.2%} | {statistics.mean(accuracies):.2%} "
            f"| {spread * 100:.2f}")


def difference(ours: list[float], reference: list[float]) -> str:
    """Difference of the means, in points, with its standard error (Welch)."""
    if len(ours) < 2 or len(reference) < 2:
        return "-"
    gap = (statistics.mean(ours) - statistics.mean(reference)) * 100
    error = (statistics.variance(ours) / len(ours) + statistics.variance(reference) / len(reference)) ** 0.5 * 100
    return f"{gap:+.2f} +- {error:.2f}"


def report(entries: list[dict], seeds: int, pooled: dict[str, str]) -> None:
    """`pooled`: code -> the name of its pool (codes of the same numerics, counted as one)."""
    runs = defaultdict(list)
    for entry in entries:
        runs[(entry["run"], pooled.get(entry["code"], entry["code"]))].append(entry)
    peer = [entry for (run, _), found in runs.items() if run == PEER_RUN for entry in found]
    reference = [entry["accuracy"] for entry in peer]
    print(f"| run | code | seeds | median | mean | SD (points) | mean - reference's (points, +- SE) "
          f"| time ratio per call | {seeds} seeds each: at or above the reference's median |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| reference (all its codes) | - | {describe(reference)} | - | - | - |")
    # each preset's codes in the order they first ran
    for (run, code), found in sorted(runs.items(), key=lambda item: (item[0][0], min(e["date"] for e in item[1]))):
        if run == PEER_RUN:
            continue
        ours = [entry["accuracy"] for entry in found]
        chance = f"{chance_at_or_above(ours, reference, seeds):.0%}" if reference else "-"
        print(f"| {run} | {code} | {describe(ours)} | {difference(ours, reference)} "
              f"| {within_calls(found, peer) if peer else '-'} | {chance} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", help="a JSON-lines file written by versus_peer.py --record")
    parser.add_argument("--cpu", default="", help="only processors whose name contains this")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per side of the imagined side-by-side")
    parser.add_argument("--pool", action="append", default=[], metavar="CODE,CODE",
                        help="count these codes as one (the same numerics); may be given again")
    args = parser.parse_args()
    if not Path(args.record).is_file():
        parser.error(f"{args.record}: no such file")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    pooled = {code: "+".join(pool.split(",")) for pool in args.pool for code in pool.split(",")}
    settings = defaultdict(list)
    for number, line in enumerate(Path(args.record).read_text().splitlines(), 1):
        try:
            entry = json.loads(line)
            matches = args.cpu.lower() in entry["cpu"].lower()
        except (ValueError, KeyError, TypeError, AttributeError):
            parser.error(f"{args.record}, line {number}: not a run recorded by versus_peer.py --record")
        if matches:
            settings[json.dumps([entry.get(name) for name in KEY_FIELDS])].append(entry)
    if not settings:
        parser.error(f"no recorded runs on a processor matching {args.cpu!r}")
    for setting, entries in settings.items():
        print("\n" + ", ".join(f"{name} {value}" for name, value in zip(KEY_FIELDS, json.loads(setting))) + "\n")
        report(entries, args.seeds, pooled)


if __name__ == "__main__":
    main()
