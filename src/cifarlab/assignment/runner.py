"""Run the probe on a submission in a child process, with limits, and read back what it saved.

The child gets a time limit per run and per submission, a cap on the size of any file it
writes (which the probe sets on itself before any student code runs), a cap on the output
kept, and its own process group (so a hang is killed with its children). When it dies or
hangs, the task it was on gets the note and the probe runs again for the tasks after it, so
one broken task never costs the others. This is not a sandbox: the
child can read and write whatever the user running the grader can (docs/assignment.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROBE = Path(__file__).with_name("probe.py")
SOLUTION = Path(__file__).with_name("solution")  # the parts that composite tasks build on (probe.BUILT_ON)


@dataclass(frozen=True)
class Limits:
    seconds_per_run: float = 60.0  # one start of the probe (all tasks still to do)
    seconds_per_submission: float = 240.0  # every run for one submission together
    file_bytes: int = 256 * 2**20  # the largest file the child may write
    output_bytes_kept: int = 20_000  # of its stdout and stderr, for the feedback


@dataclass
class TaskOutcome:
    status: str  # "ran", "not_started" or "error" (the probe's), or "error" for a death or hang
    message: str = ""
    values: dict[str, np.ndarray] = field(default_factory=dict)
    variant: dict = field(default_factory=dict)


@dataclass
class ProbeReport:
    outcomes: dict[str, TaskOutcome]
    output: str = ""  # the first Limits.output_bytes_kept bytes the submission printed
    output_bytes: int = 0  # how much it printed in all
    notes: list[str] = field(default_factory=list)


def _child_environment(home: Path) -> dict[str, str]:
    """A small environment: no PYTHONPATH, one thread per library (several children at once)."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if name in os.environ}
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return {**keep, **threads, "HOME": str(home), "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


class _OutputReader(threading.Thread):
    """Drains a child's output so it never blocks on a full pipe; keeps the first `keep` bytes."""

    def __init__(self, stream, keep: int):
        super().__init__(daemon=True)
        self.stream, self.keep, self.kept, self.total = stream, keep, bytearray(), 0

    def run(self):
        while chunk := self.stream.read(65536):
            self.total += len(chunk)
            if len(self.kept) < self.keep:
                self.kept += chunk[: self.keep - len(self.kept)]


def _run_once(submission: Path, cases_file: Path, results: Path, tasks: list[str], timeout: float, limits: Limits):
    """(exit code or None when killed for time, bytes kept, bytes printed)."""
    command = [sys.executable, "-I", str(PROBE), "--file-limit", str(limits.file_bytes), "--reference", str(SOLUTION),
               str(submission), str(cases_file), str(results), *tasks]
    child = subprocess.Popen(command, cwd=submission, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=_child_environment(results), start_new_session=True)
    reader = _OutputReader(child.stdout, limits.output_bytes_kept)
    reader.start()
    try:
        code = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the child and anything it started
        except ProcessLookupError:
            pass
        child.wait()
    reader.join(timeout=5)
    return code, bytes(reader.kept), reader.total


def _read_outcome(results: Path, task: str) -> TaskOutcome | None:
    try:
        status = json.loads((results / f"{task}.json").read_text())
        with np.load(results / f"{task}.npz", allow_pickle=False) as arrays:
            values = {key.replace("|", "/"): arrays[key] for key in arrays.files}
        return TaskOutcome(str(status["status"]), str(status.get("message", ""))[:500], values,
                           dict(status.get("variant") or {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _death(code: int | None, timeout: float) -> str:
    if code is None:
        return f"did not finish within {timeout:.0f} s (an endless loop, or far too slow)"
    if code < 0:
        return f"the process was killed by signal {signal.Signals(-code).name}"
    return f"the process exited with code {code} during this task"


def run_probe(submission: Path, cases_file: Path, tasks: list[str], limits: Limits = Limits()) -> ProbeReport:
    """Run every task of `tasks` on `submission` (a folder), restarting after a death or a hang."""
    submission, cases_file = Path(submission).resolve(), Path(cases_file).resolve()
    outcomes: dict[str, TaskOutcome] = {}
    pending = list(tasks)
    output, printed, notes = bytearray(), 0, []
    deadline = time.monotonic() + limits.seconds_per_submission
    with tempfile.TemporaryDirectory(prefix="cifarlab-probe-") as scratch:
        while pending:
            left = deadline - time.monotonic()
            if left <= 1:
                spent = f"not run: the submission's {limits.seconds_per_submission:.0f} s were spent"
                for task in pending:
                    outcomes[task] = TaskOutcome("error", spent)
                break
            results = Path(tempfile.mkdtemp(dir=scratch))
            timeout = min(limits.seconds_per_run, left)
            code, kept, total = _run_once(submission, cases_file, results, pending, timeout, limits)
            output += kept[: max(limits.output_bytes_kept - len(output), 0)]
            printed += total
            for task in list(pending):
                outcome = _read_outcome(results, task)
                if outcome is not None:
                    outcomes[task] = outcome
                    pending.remove(task)
            if not pending:
                break
            started = (results / "started").read_text().strip() if (results / "started").is_file() else None
            if started not in pending:  # died before its first task: nothing to blame, nothing to retry
                for task in pending:
                    outcomes[task] = TaskOutcome("error", f"the checks could not start: {_death(code, timeout)}")
                break
            outcomes[started] = TaskOutcome("error", _death(code, timeout))
            pending.remove(started)
    if printed > limits.output_bytes_kept:
        notes.append(f"printed {printed:,} bytes; the first {limits.output_bytes_kept:,} are kept")
    return ProbeReport(outcomes, output.decode("utf-8", "replace"), printed, notes)
