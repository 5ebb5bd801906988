"""Judge a task: the values a student's code computed against the expected ones.

Standalone (NumPy only): copied into the student folder's checks/. Every verdict comes
with one sentence a student can act on.
"""

from dataclasses import dataclass

import numpy as np

TOLERANCE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}


@dataclass(frozen=True)
class Verdict:
    status: str  # "passed", "not started", "failed"
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def relative_error(computed, expected) -> float:
    """The largest difference, relative to the largest expected value (both as float64)."""
    difference = np.max(np.abs(computed - expected)) if expected.size else 0.0
    return float(difference / max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-12))


def compare_value(label, case, computed, expected):
    """None when `computed` matches `expected`, else what is wrong, in words."""
    where = f" [case: {case}]"
    if computed is None:
        return f"{label} was not computed{where}"
    computed = np.asarray(computed)
    if computed.dtype == object or not np.issubdtype(computed.dtype, np.number):
        return f"{label} is not an array of numbers (got {computed.dtype}){where}"
    if computed.size != expected.size or (computed.ndim > 1 and computed.shape != expected.shape):
        return f"{label} has shape {computed.shape}; {expected.shape} was expected{where}"
    computed = computed.astype(np.float64).reshape(expected.shape)
    if not np.all(np.isfinite(computed)):
        return f"{label} contains NaN or infinity{where}"
    tolerance = TOLERANCE.get(expected.dtype, 1e-6)
    error = relative_error(computed, expected.astype(np.float64))
    if error > tolerance:
        return (f"{label} differs from the expected values by {error:.1e} (largest relative error; below "
                f"{tolerance:.0e} expected){_hint(computed, expected.astype(np.float64), tolerance)}{where}")
    return None


def _hint(computed, expected, tolerance):
    """When `computed` is the expected values times a constant, say so: a flipped sign, or a
    mean where a sum belongs (a factor of 1/batch), are the most common slips."""
    scale = float(np.sum(computed * expected) / max(float(np.sum(expected * expected)), 1e-300))
    if abs(scale) < 1e-12 or relative_error(computed, scale * expected) > tolerance:
        return ""
    if abs(scale + 1) < 1e-6:
        return "; it is the expected values with the opposite sign"
    return f"; it is {scale:.4g} times the expected values (a factor missing or too many)"


def judge(task, status, message, computed, expected):
    """A Verdict for `task` (a tasks.Task) from the probe's status and values.

    computed, expected: {"case/name": array}; every expected value must be matched."""
    if status == "not_started":
        return Verdict("not started", message)
    if status != "ran":
        return Verdict("failed", message or "the code did not run")
    for key, wanted in expected.items():
        case, name = key.split("/")
        problem = compare_value(task.label(name), case, computed.get(key), wanted)
        if problem:
            return Verdict("failed", problem)
    return Verdict("passed")



def judge_forms(task, status, message, computed, reported, expected_for):
    """The Verdict of the first form of `task` (tasks.Task.forms of the `reported` variant) whose
    expected values the computed ones match, else that of the first form.
    expected_for(form) -> {"case/name": array}."""
    verdicts = [judge(task, status, message, computed, expected_for(form) if status == "ran" else {})
                for form in task.forms(reported)]
    return next((verdict for verdict in verdicts if verdict.passed), verdicts[0])
