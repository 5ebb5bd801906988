"""`cifarlab assignment check`: the public checks on a student's folder, one line per task,
and with `--train`, the student's NumPy MLP trained on the real data."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np

from cifarlab.assignment.assess import CaseSet, assess, scratch_folder
from cifarlab.assignment.runner import Limits
from cifarlab.assignment.tasks import TASKS, TASKS_BY_ID
from cifarlab.errors import CifarlabError


def tasks_in(folder: Path) -> list[str]:
    """The tasks whose files the folder holds (a folder may be written for some parts only)."""
    present = [task.id for task in TASKS if (folder / task.file).is_file()]
    if not present:
        raise CifarlabError(f"{folder} holds none of the assignment's files (modules.py, mlp_pytorch.py, ...): "
                            "give the folder `cifarlab assignment new` wrote")
    return present


def verdict_line(task_id: str, verdict) -> str:
    task = TASKS_BY_ID[task_id]
    text = verdict.status + (f": {verdict.message}" if verdict.message else "")
    return f"part {task.part}  {task.title:<31} {text}"


def check_folder(folder: Path, limits: Limits = Limits()) -> bool:
    """Print one line per task; True when every task passes."""
    task_ids = tasks_in(folder)
    with scratch_folder() as scratch:
        assessment = assess(folder, CaseSet(task_ids, None, Path(scratch)), limits)
    for task_id, verdict in assessment.verdicts.items():
        print(verdict_line(task_id, verdict))
    passed = sum(verdict.passed for verdict in assessment.verdicts.values())
    print(f"{passed} of {len(task_ids)} tasks pass")
    if assessment.report.output.strip():
        shown = assessment.report.output.rstrip()[:4000]
        print(f"\nwhat your code printed ({assessment.report.output_bytes:,} bytes; the start):\n{shown}")
    return passed == len(task_ids)


def measured_range() -> dict:
    """cifarlab's own runs of train_mlp_numpy.py (benchmarks/assignment_training.py writes them)."""
    return json.loads((resources.files("cifarlab.assignment") / "measured.json").read_text())["train_mlp_numpy"]


def run_training_script(folder: Path, data_file: Path, out: Path, options=(), timeout: float = 1800.0,
                        quiet: bool = False) -> float | None:
    """Run `folder`'s train_mlp_numpy.py (its defaults, then `options`) on `data_file` in a child
    process; -> its final test accuracy in %, None when it fails (subprocess.TimeoutExpired when
    it runs past `timeout`). -E -s: no PYTHONPATH, no user site (-I would also drop the script's
    own folder from the path)."""
    command = [sys.executable, "-E", "-s", "train_mlp_numpy.py", "--data_dir", str(data_file), "--out", str(out),
               *options]
    finished = subprocess.run(command, cwd=folder, timeout=timeout, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL if quiet else None)
    results = out / "results.json"
    if finished.returncode != 0 or not results.is_file():
        return None
    return 100 * float(json.loads(results.read_text())["test_accuracy"])


def train_numpy_mlp(folder: Path, data, timeout: float = 1800.0) -> bool:
    """Run the student's train_mlp_numpy.py with its defaults on the real data; True when the
    final test accuracy lies in cifarlab's measured range for the same run."""
    from cifarlab.assignment.handout import cifar10_arrays

    if not (folder / "train_mlp_numpy.py").is_file():
        raise CifarlabError(f"{folder} has no train_mlp_numpy.py (part 1) to train")
    reference = measured_range()
    with scratch_folder() as scratch:
        data_file = Path(scratch) / "cifar10.npz"
        np.savez(data_file, **cifar10_arrays(data))
        print("training: train_mlp_numpy.py with the study's defaults (its progress follows)", flush=True)
        try:
            accuracy = run_training_script(folder, data_file, Path(scratch) / "run", timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"training: did not finish within {timeout:.0f} s")
            return False
    if accuracy is None:
        print("training: train_mlp_numpy.py failed; its output is above")
        return False
    low, high = min(reference["test_accuracy"]), max(reference["test_accuracy"])
    inside = low <= accuracy <= high
    where = "inside" if inside else "outside"
    print(f"training: test accuracy {accuracy:.2f} % after {reference['steps']} steps, {where} cifarlab's range "
          f"for this run, {low:.2f}-{high:.2f} % (its solution, seeds {reference['seeds_text']}, "
          f"{reference['date']}, {reference['cpu']})")
    return inside
