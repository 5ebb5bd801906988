"""`cifarlab assignment grade`: every submission, in a child process of its own, on the public
and the hidden cases; points per task from a rubric; a CSV and one feedback file per student.

A task earns its points when every case of it matches cifarlab's values, none otherwise. A
submission runs on a copy of its folder, so whatever it deletes or writes stays in the copy.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cifarlab.assignment.assess import Assessment, CaseSet, assess, scratch_folder
from cifarlab.assignment.runner import Limits
from cifarlab.assignment.tasks import TASKS, TASKS_BY_ID
from cifarlab.errors import CifarlabError
from cifarlab.rundir.files import atomic_write_bytes

LARGEST_COPIED_FILE = 50 * 2**20  # a submission's data sets and checkpoints are not needed to grade it


def load_rubric(path: Path | None) -> dict[str, float]:
    """Points per task id: the defaults of tasks.py, changed by a TOML file's [points] table."""
    points = {task.id: float(task.points) for task in TASKS}
    if path is None:
        return points
    try:
        table = tomllib.loads(path.read_text()).get("points", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CifarlabError(f"cannot read the rubric {path}: {error}") from None
    for task, value in table.items():
        if task not in points:
            raise CifarlabError(f"rubric {path}: unknown task {task!r}; the tasks are {', '.join(points)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise CifarlabError(f"rubric {path}: points for {task!r} must be a number >= 0, got {value!r}")
        points[task] = float(value)
    return points


@dataclass
class Grade:
    student: str
    points: dict[str, float]  # task id -> points earned
    assessment: Assessment
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.points.values())


def submissions_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CifarlabError(f"{folder} is not a folder of submissions (one sub-folder per student)")
    found = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not found:
        raise CifarlabError(f"{folder} holds no submissions: put each student's files in a sub-folder of it")
    return found


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file() or path.is_symlink()}


def _copy_submission(source: Path, target: Path) -> list[str]:
    """Copy a submission for grading, leaving out caches and very large files; -> notes."""
    skipped = []

    def ignore(directory, names):
        left_out = {name for name in names if name == "__pycache__"}
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink() and path.stat().st_size > LARGEST_COPIED_FILE:
                left_out.add(name)
                skipped.append(name)
        return left_out

    shutil.copytree(source, target, symlinks=True, ignore=ignore)
    return [f"not copied for grading (over {LARGEST_COPIED_FILE >> 20} MB): {', '.join(skipped)}"] if skipped else []


def grade_one(submission: Path, case_set: CaseSet, rubric: dict[str, float], limits: Limits, scratch: Path) -> Grade:
    work = scratch / f"submission-{submission.name}"
    notes = _copy_submission(submission, work)
    before = _files(work)
    assessment = assess(work, case_set, limits)
    deleted = sorted(before - _files(work))
    if deleted:
        notes.append(f"deleted {len(deleted)} of its own files while it ran: {', '.join(deleted[:10])}")
    notes += assessment.report.notes
    points = {task: rubric[task] if verdict.passed else 0.0 for task, verdict in assessment.verdicts.items()}
    shutil.rmtree(work, ignore_errors=True)
    return Grade(submission.name, points, assessment, notes)


def _number(value: float) -> str:
    return f"{value:g}"


def _maximum(rubric: dict[str, float], task_ids) -> str:
    return _number(sum(rubric[task] for task in task_ids))


def write_csv(grades: list[Grade], task_ids: list[str], rubric: dict[str, float], path: Path) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["student", "total", "max", *task_ids, "notes"])
    for grade in grades:
        writer.writerow([grade.student, _number(grade.total), _maximum(rubric, task_ids),
                         *(_number(grade.points[task]) for task in task_ids), "; ".join(grade.notes)])
    atomic_write_bytes(path, text.getvalue().encode())


def feedback_text(grade: Grade, rubric: dict[str, float]) -> str:
    lines = [f"# {grade.student}: {_number(grade.total)} of {_maximum(rubric, grade.points)} points", ""]
    for task, verdict in grade.assessment.verdicts.items():
        info = TASKS_BY_ID[task]
        detail = f": {verdict.message}" if verdict.message else ""
        lines.append(f"- part {info.part}, {info.title} ({_number(grade.points[task])}/{_number(rubric[task])}): "
                     f"{verdict.status}{detail}")
    if grade.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in grade.notes)]
    if grade.assessment.report.output.strip():
        lines += ["", "What the code printed (the start):", "", "```",
                  grade.assessment.report.output[:2000].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def grade_all(submissions: Path, out: Path, feedback: Path, rubric: dict[str, float], hidden_seed: int,
              limits: Limits = Limits(), jobs: int = 2, parts=(1, 2, 3, 4)) -> list[Grade]:
    """Grade every sub-folder of `submissions`; write the CSV `out` and `feedback`/STUDENT.md."""
    folders = submissions_in(submissions)
    task_ids = [task.id for task in TASKS if task.part in parts]
    with scratch_folder() as scratch:
        case_set = CaseSet(task_ids, hidden_seed, Path(scratch))
        for task in task_ids:  # the usual forms, computed before the threads start and share them
            case_set.expected(task, TASKS_BY_ID[task].forms({})[0])

        def grade_and_report(folder):
            grade = grade_one(folder, case_set, rubric, limits, Path(scratch))
            atomic_write_bytes(feedback / f"{grade.student}.md", feedback_text(grade, rubric).encode())
            notes = f"  ({len(grade.notes)} note{'s' * (len(grade.notes) != 1)})" if grade.notes else ""
            print(f"{grade.student}: {_number(grade.total)}/{_maximum(rubric, task_ids)}{notes}", file=sys.stderr,
                  flush=True)
            return grade

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            grades = list(pool.map(grade_and_report, folders))
    write_csv(grades, task_ids, rubric, out)
    return grades
