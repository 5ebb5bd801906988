"""The range `cifarlab assignment check --train` holds a student's NumPy MLP to: the assignment's
own train_mlp_numpy.py, filled in with cifarlab's solution, run with its defaults (the study's
run) for several seeds on the real data. Writes src/cifarlab/assignment/measured.json.

    python benchmarks/assignment_training.py --data ../shared/data/cifar10-jpeg.tar.gz --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from cifarlab.assignment.blanks import solution_source
from cifarlab.assignment.checking import run_training_script
from cifarlab.assignment.handout import cifar10_arrays, write_folder
from cifarlab.rundir.files import git_version
from cifarlab.training.runtime import cpu_model_and_generation

MEASURED = Path(__file__).resolve().parents[1] / "src" / "cifarlab" / "assignment" / "measured.json"


def run_seed(folder: Path, data_file: Path, seed: int) -> tuple[float, float]:
    """(final test accuracy in %, seconds) of one run of the solved train_mlp_numpy.py, run as
    `cifarlab assignment check --train` runs a student's."""
    started = time.perf_counter()
    accuracy = run_training_script(folder, data_file, folder / f"run-{seed}", ["--seed", str(seed)], quiet=True)
    if accuracy is None:
        raise SystemExit(f"train_mlp_numpy.py failed for seed {seed}")
    return accuracy, time.perf_counter() - started


def markdown_row(record: dict) -> str:
    """The row benchmarks/RESULTS.md shows for a record of measured.json."""
    accuracies = record["test_accuracy"]
    return (f"| {record['seeds_text']} | {np.mean(accuracies):.2f} % | {min(accuracies):.2f}-{max(accuracies):.2f} % | "
            f"{', '.join(f'{value:.2f}' for value in accuracies)} | {min(record['seconds']):.1f}-"
            f"{max(record['seconds']):.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="CIFAR-10 source (as for `cifarlab train --data`)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "solved"
        write_folder(folder, (1,))
        for name in ("modules.py", "mlp_numpy.py", "train_mlp_numpy.py"):
            (folder / name).write_text(solution_source(name))
        data_file = Path(scratch) / "cifar10.npz"
        np.savez(data_file, **cifar10_arrays(args.data))
        results = [run_seed(folder, data_file, seed) for seed in args.seeds]
    accuracies = [round(accuracy, 2) for accuracy, _ in results]
    for seed, (accuracy, seconds) in zip(args.seeds, results):
        print(f"seed {seed}: test accuracy {accuracy:.2f} % in {seconds:.1f} s")
    record = {"train_mlp_numpy": {
        "test_accuracy": accuracies, "seeds": args.seeds,
        "seeds_text": f"{min(args.seeds)}-{max(args.seeds)}" if len(args.seeds) > 1 else str(args.seeds[0]),
        "steps": 1500, "seconds": [round(seconds, 1) for _, seconds in results],
        "date": datetime.date.today().isoformat(), "commit": git_version(), "cpu": cpu_model_and_generation(),
        "threads": os.environ.get("OMP_NUM_THREADS", "all cores"),
        "command": "python benchmarks/assignment_training.py --data " + args.data + " --seeds "
                   + " ".join(map(str, args.seeds)),
        "data": os.path.basename(args.data)}}
    temporary = MEASURED.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, MEASURED)
    print(f"wrote {MEASURED}; its row in RESULTS.md:")
    print(markdown_row(record["train_mlp_numpy"]))


if __name__ == "__main__":
    main()
