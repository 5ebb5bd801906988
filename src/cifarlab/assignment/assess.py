"""One submission, judged: run the probe on it in a child process, compute cifarlab's own
values for the same inputs here, compare. Shared by `assignment check` and `assignment grade`."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.assignment.cases import build_cases
from cifarlab.assignment.compare import Verdict, judge_forms
from cifarlab.assignment.expected import expected_values
from cifarlab.assignment.runner import Limits, ProbeReport, run_probe
from cifarlab.assignment.tasks import TASKS_BY_ID, variant_key


@dataclass
class Assessment:
    verdicts: dict[str, Verdict]  # task id -> verdict, in task order
    report: ProbeReport


class CaseSet:
    """The inputs of one `check` or `grade` run, in a file the children read, and the expected
    values, computed once per (task, form) in this process."""

    def __init__(self, task_ids, hidden_seed: int | None, folder: Path):
        self.task_ids = list(task_ids)
        self.file = folder / "cases.npz"
        np.savez(self.file, **build_cases(self.task_ids, hidden_seed))
        self._expected: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()  # graders share one CaseSet across threads

    def expected(self, task: str, form: dict) -> dict[str, np.ndarray]:
        key = (task, variant_key(form))
        with self._lock:
            return self._computed(key, task, form)

    def _computed(self, key, task, form):
        if key not in self._expected:
            with np.load(self.file) as arrays:
                self._expected[key] = expected_values(task, arrays, form)
        return self._expected[key]


def assess(submission: Path, case_set: CaseSet, limits: Limits = Limits()) -> Assessment:
    report = run_probe(submission, case_set.file, case_set.task_ids, limits)
    verdicts = {}
    for task in case_set.task_ids:
        outcome = report.outcomes[task]
        verdicts[task] = judge_forms(TASKS_BY_ID[task], outcome.status, outcome.message, outcome.values,
                                     outcome.variant, lambda form, task=task: case_set.expected(task, form))
    return Assessment(verdicts, report)


def scratch_folder():
    return tempfile.TemporaryDirectory(prefix="cifarlab-assignment-")
