"""Benchmark for issue 14: cifarlab's fast presets against the airbench94 reference recipe
(`../shared/peers/airbench94_cpu.py`, run as a separate process, never imported), side by
side on this machine in one run, on the same data.

    python benchmarks/versus_peer.py --data ../shared/data/cifar10-jpeg.tar.gz \\
        --peer-seeds 0 1 2 --runs fastnet:cpu85 fastnet:cpu-peer --seeds 1 2 3 -- --threads 2

A run may carry options of its own, to set a variant beside its preset in the same call:
`--runs fastnet:cpu-peer "fastnet:cpu-peer --epochs 10 --small-crop-epochs 6"`.

Compared times: the peer's "airbench-style total" (training plus its final test-time
augmented evaluation, as it prints it) against cifarlab's loop time (training plus its
evaluation at the end, from metrics.json); and the wall times of both whole commands
(start-up, reading the data, training, evaluation, files). Runs are interleaved (peer seed,
then each preset's seed, and so on), so that a machine that drifts is shared fairly.

cifarlab keeps the memory a training step frees for the next step (`--reuse-memory`, glibc's
malloc told not to hand large blocks back), a process setting that would speed the reference up
too. `--peer-memory both` (the default) runs the reference twice per seed, as it is and with the
same setting given through GLIBC_TUNABLES ("memory kept"), and the table gives each run's time
ratio to both; `plain` or `kept` runs one of them.

The peer computes in bf16 by default; on a CPU without native bf16 that is emulated (on a
2-core AMD EPYC without AVX512 a reference step took 125 s in bf16 against 12.2 s in float32),
so `--peer-precision auto` (the default) runs it with `--no-bf16` there, as the presets' own
`--precision auto` does for them.

On a slow CPU three seeds of the reference take hours (about 97 minutes each on a 2-core AMD
EPYC without AVX512), longer than a machine may stay up. `--record FILE` appends every finished run to a
JSON-lines file as it ends (result, processor, date, and a hash of the code that ran), and a
later call with the same file runs only what is missing: a recorded run is reused when the
processor model, its bf16 support, the threads, the options and the code (cifarlab's source,
or the peer's file) are the same. The table then gives each run's date range.
Accuracies so gathered compare; times may not: two machine starts on the same processor model ran the
reference 1.25x apart (EPYC-Zen1, 2026-11-30 and 12-01), so a time ratio wants both sides from one
machine start. Each recorded run therefore names the call that ran it (its start time), and the table's
last column takes the time ratio within each call that ran both sides, then the median over those
calls: one pair per machine start, gathered over machine starts, gives a time ratio that drift between
machines does not bias.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from train_process import TrainFailed, train_once  # benchmarks/ is on the path when run as a script

PEER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "airbench94_cpu.py"
ACCURACY = re.compile(r"final test accuracy: ([\d.]+) without TTA, ([\d.]+) with TTA")
TOTAL = re.compile(r"airbench-style total \(training \+ TTA eval\) ([\d.]+) s")
# the run name the reference is recorded under, and the fields of record_key: seed_spread.py reads both
PEER_RUN = "peer airbench94_cpu"
PEER_RUNS = {"plain": PEER_RUN, "kept": f"{PEER_RUN}, memory kept"}
KEY_FIELDS = ("cpu", "native_bf16", "threads", "peer_options", "train_options", "data")
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)  # what may have a docstring


def peer_precision_args(precision: str) -> list[str]:
    from cifarlab.training.runtime import native_bf16

    if precision == "auto":
        precision = "bf16" if native_bf16() else "fp32"
    return ["--bf16"] if precision == "bf16" else ["--no-bf16"]


def memory_kept_environment() -> dict:
    """This process's environment with glibc told what cifarlab's --reuse-memory tells it
    (process/memory_reuse.py: no mmap for large blocks, the heap never trimmed), for the peer."""
    from cifarlab.process.memory_reuse import NEVER_TRIM

    tunables = [os.environ.get("GLIBC_TUNABLES", ""), f"glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold={NEVER_TRIM}"]
    return {**os.environ, "GLIBC_TUNABLES": ":".join(part for part in tunables if part)}


def run_peer(seed: int, data: str, threads: int, extra: list[str], keep_memory: bool = False) -> dict:
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, str(PEER), "--threads", str(threads), "--seed", str(seed),
                               "--no-epoch-eval", "--data", data, *extra], capture_output=True, text=True,
                              env=memory_kept_environment() if keep_memory else None)
    wall = time.perf_counter() - started
    accuracy, total = ACCURACY.search(finished.stdout), TOTAL.search(finished.stdout)
    if finished.returncode or not (accuracy and total):
        raise SystemExit(f"peer seed {seed} failed (exit {finished.returncode}): {finished.stderr.strip()[-300:]}")
    return {"accuracy": float(accuracy.group(2)), "seconds": float(total.group(1)), "wall": wall}


def parse_run(run: str) -> tuple[str, str, list[str]]:
    """"fastnet:cpu-peer --epochs 10" -> ("fastnet", "cpu-peer", ["--epochs", "10"]); ValueError if
    it does not start with one MODEL:PRESET pair or its quotes do not close."""
    model_and_preset, *options = shlex.split(run) or [""]
    if model_and_preset.count(":") != 1:
        raise ValueError(f"{run!r} does not start with MODEL:PRESET")
    model, preset = model_and_preset.split(":")
    return model, preset, options


def run_ours(run: str, seed: int, data: str, extra: list[str]) -> dict:
    """`run`: MODEL:PRESET, optionally followed by options of its own ("fastnet:cpu-peer --epochs 10")."""
    model, preset, options = parse_run(run)
    try:
        wall, _, metrics = train_once([model, "--preset", preset, "--seed", str(seed), "--data", data, *options,
                                       *extra])
    except TrainFailed as failure:  # a wrong preset or option: its one line, not a traceback
        raise SystemExit(f"{run} seed {seed} failed: {failure}") from None
    return {"accuracy": metrics["test_accuracy"], "seconds": metrics["train_seconds"], "wall": wall}


def code_hash(paths: list[Path]) -> str:
    """A short hash of what these Python files compute: a recorded run is reused only for the same
    code. It hashes their syntax trees without docstrings, so that a comment, a docstring or a
    rewrapped line does not split one preset's seeds across hashes (records written before
    2026-12-02 hashed the files' bytes). The tree's printed form belongs to the Python version, so
    another Python may hash the same code differently: its runs are then run again, not mixed up."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(ast.dump(without_docstrings(ast.parse(path.read_bytes()))).encode())
    return digest.hexdigest()[:12]


def without_docstrings(tree: ast.Module) -> ast.Module:
    """`tree` with the docstring of its module and of each class and function taken out."""
    for node in ast.walk(tree):
        if isinstance(node, DOCUMENTED) and ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
    return tree


def machine() -> dict:
    from cifarlab.training.runtime import cpu_model_and_generation, native_bf16

    return {"cpu": cpu_model_and_generation(), "native_bf16": native_bf16()}


def record_key(threads: int, peer_args: list[str], train_options: list[str], data: Path) -> dict:
    """What a recorded run must share with a call to be reused in it (KEY_FIELDS, in this order)."""
    return {**machine(), "threads": threads, "peer_options": peer_args, "train_options": train_options,
            "data": f"{data.name} ({data.stat().st_size} bytes)"}


class Record:
    """Finished runs in a JSON-lines file (or nowhere): what matches `key` is not run again."""

    def __init__(self, path: str | None, key: dict, call: str = ""):
        self.path, self.key, self.call, self.runs = path, key, call, {}
        if path and Path(path).exists():
            for line in Path(path).read_text().splitlines():
                entry = json.loads(line)
                if all(entry.get(name) == value for name, value in key.items()):
                    self.runs[(entry["run"], entry["seed"], entry["code"])] = entry

    def get_or_run(self, run: str, seed: int, code: str, measure) -> dict:
        if (run, seed, code) in self.runs:
            print(f"{run} seed {seed}: recorded {self.runs[(run, seed, code)]['date']}, not run again", flush=True)
            return self.runs[(run, seed, code)]
        result = measure()
        entry = {**self.key, "run": run, "seed": seed, "code": code, **result,
                 "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "call": self.call}
        if self.path:
            with open(self.path, "a") as file:  # one whole line per run: a crash loses at most the run under way
                file.write(json.dumps(entry) + "\n")
        print(f"{run} seed {seed}: {result}", flush=True)
        return entry


def summary(name: str, seeds: list[int], results: list[dict], references: list[list[dict]]) -> str:
    """One table row, with a time ratio to each reference in `references` (1 for the row's own)."""
    accuracy = statistics.median(r["accuracy"] for r in results)
    seconds = statistics.median(r["seconds"] for r in results)
    wall = statistics.median(r["wall"] for r in results)
    ratios = []
    for peer in references:
        if peer is results:
            ratios.append("1")
            continue
        peer_seconds = statistics.median(r["seconds"] for r in peer)
        peer_wall = statistics.median(r["wall"] for r in peer)
        ratios.append(f"{seconds / peer_seconds:.2f}x (wall {wall / peer_wall:.2f}x; within a call "
                      f"{within_calls(results, peer)})")
    each = " / ".join(f"{r['accuracy']:.2%}" for r in results)
    return (f"| {name} | {' '.join(map(str, seeds))} | {each} | {accuracy:.2%} | {seconds:.1f} s | {wall:.1f} s "
            f"| {' | '.join(ratios)} |")


def within_calls(results: list[dict], peer: list[dict]) -> str:
    """The time ratio taken within each call that ran both sides, then the median over calls."""
    ratios = []
    for call in sorted({r.get("call") for r in results} - {None, ""}):
        peer_seconds = [r["seconds"] for r in peer if r.get("call") == call]
        if peer_seconds:
            ours = statistics.median(r["seconds"] for r in results if r.get("call") == call)
            ratios.append(ours / statistics.median(peer_seconds))
    if not ratios:
        return "- (no call ran both)"
    return f"{statistics.median(ratios):.2f}x ({len(ratios)} call{'s' if len(ratios) > 1 else ''})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--peer-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", nargs="*", default=["fastnet:cpu85", "fastnet:cpu-peer"],
                        help="MODEL:PRESET pairs, each optionally with options of its own in one quoted argument "
                             "(\"fastnet:cpu-peer --epochs 10\"); given with none, the reference runs alone (to extend "
                             "a record)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threads", type=int, default=2, help="the peer's threads (give ours after --)")
    parser.add_argument("--peer-args", default="", help="further peer options, quoted (smoke tests)")
    parser.add_argument("--peer-precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="the peer's precision (auto: bf16 where this CPU computes it natively, else fp32)")
    parser.add_argument("--peer-memory", choices=("both", "plain", "kept"), default="both",
                        help="run the reference as it is (plain), with cifarlab's memory setting given through "
                             "GLIBC_TUNABLES (kept), or both, each seed twice (default: both)")
    parser.add_argument("--record", metavar="FILE",
                        help="append each finished run to this JSON-lines file; runs already in it are not repeated")
    parser.add_argument("extra", nargs="*", help="further `cifarlab train` options for every run, after --")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        parser.error(f"--data {args.data}: no such file")
    for run in args.runs:  # checked before the first run, not minutes into the call
        try:
            parse_run(run)
        except ValueError as problem:
            parser.error(f"--runs takes MODEL:PRESET pairs, each with options if any (fastnet:cpu85): {problem}")
    peer_args = peer_precision_args(args.peer_precision) + args.peer_args.split()
    key = record_key(args.threads, peer_args, args.extra, Path(args.data))
    started = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    record = Record(args.record, key, call=started)
    print(f"# {started}, {key['cpu']} "
          f"(native bf16: {'yes' if key['native_bf16'] else 'no'}); peer options {' '.join(peer_args)}")
    peer_code = code_hash([PEER])
    our_code = code_hash(list((Path(__file__).resolve().parents[1] / "src" / "cifarlab").rglob("*.py")))
    # interleaved (peer seed, then each preset's seed, ...) so that a drifting machine is shared fairly
    kinds = ("plain", "kept") if args.peer_memory == "both" else (args.peer_memory,)
    peers, ours = {kind: [] for kind in kinds}, {pair: [] for pair in args.runs}
    for index in range(max(len(args.peer_seeds), len(args.seeds))):
        for kind in kinds if index < len(args.peer_seeds) else ():
            seed = args.peer_seeds[index]
            peers[kind].append(record.get_or_run(PEER_RUNS[kind], seed, peer_code, lambda: run_peer(
                seed, args.data, args.threads, peer_args, keep_memory=kind == "kept")))
        for pair in args.runs if index < len(args.seeds) else []:
            seed = args.seeds[index]
            ours[pair].append(record.get_or_run(pair, seed, our_code,
                                                lambda: run_ours(pair, seed, args.data, args.extra)))
    references = list(peers.values())
    rows = [summary(f"airbench94_cpu (reference, {'memory kept' if kind == 'kept' else 'as it is'})",
                    args.peer_seeds, peers[kind], references) for kind in kinds]
    rows += [summary(pair, args.seeds, results, references) for pair, results in ours.items()]
    ratio_columns = " | ".join(f"time ratio to the reference {'with memory kept' if kind == 'kept' else 'as it is'}"
                               for kind in kinds)
    print(f"\n| run | seeds | test accuracy per seed | median | training + final evaluation (median) "
          f"| wall (median) | {ratio_columns} |")
    print("|---|---|---|---|---|---|" + "---|" * len(kinds))
    print("\n".join(rows))
    peer = [run for runs in peers.values() for run in runs]
    dates = sorted(entry["date"] for entry in peer + [run for runs in ours.values() for run in runs])
    print(f"\nruns finished between {dates[0]} and {dates[-1]}; code {our_code} (cifarlab source), "
          f"{peer_code} (peer)")


if __name__ == "__main__":
    main()
