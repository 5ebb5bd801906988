"""One submission, judged: run the probe on it in a child process, compute cifarlab's own
values for the same inputs here, compare. Shared by `assignment check` and `assignment grade`."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.assignment.cases import build_cases
from cifarlab.assignment.compare import Verdict, judge
from cifarlab.assignment.expected import expected_values
from cifarlab.assignment.runner import Limits, ProbeReport, run_probe
from cifarlab.assignment.tasks import TASKS_BY_ID, variant_key


@dataclass
class Assessment:
    verdicts: dict[str, Verdict]  # task id -> verdict, in task order
    report: ProbeReport


class CaseSet:
    """The inputs of one checking or grading session, in a file the children read, and the
    expected values, computed once per (task, variant) in this process."""

    def __init__(self, task_ids, hidden_seed: int | None, folder: Path):
        self.task_ids = list(task_ids)
        self.file = folder / "cases.npz"
        np.savez(self.file, **build_cases(self.task_ids, hidden_seed))
        self._expected: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()  # graders share one CaseSet across threads

    def expected(self, task: str, variant: dict) -> dict[str, np.ndarray]:
        key = (task, variant_key(variant))
        with self._lock:
            return self._computed(key, task, variant)

    def _computed(self, key, task, variant):
        if key not in self._expected:
            with np.load(self.file) as arrays:
                self._expected[key] = expected_values(task, arrays, variant)
        return self._expected[key]


def _known_variant(variant: dict) -> dict:
    """Only the variants cifarlab knows, with values of the types it expects (the probe is untrusted)."""
    known = {}
    if isinstance(variant.get("neg_slope"), bool):
        known["neg_slope"] = variant["neg_slope"]
    if variant.get("output") in ("probabilities", "logits"):
        known["output"] = variant["output"]
    return known


def assess(submission: Path, case_set: CaseSet, limits: Limits = Limits()) -> Assessment:
    report = run_probe(submission, case_set.file, case_set.task_ids, limits)
    verdicts = {}
    for task in case_set.task_ids:
        outcome, info = report.outcomes[task], TASKS_BY_ID[task]
        tried = []
        for alternative in info.alternatives:  # the forms a correct solution may take, in turn
            variant = _known_variant(outcome.variant) | alternative
            wanted = case_set.expected(task, variant) if outcome.status == "ran" else {}
            tried.append(judge(info, outcome.status, outcome.message, outcome.values, wanted))
        verdicts[task] = next((verdict for verdict in tried if verdict.passed), tried[0])
    return Assessment(verdicts, report)


def scratch_folder():
    return tempfile.TemporaryDirectory(prefix="cifarlab-assignment-")
