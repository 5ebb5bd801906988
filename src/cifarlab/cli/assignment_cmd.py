"""`cifarlab assignment new | check | grade | rubric`: the course assignment (docs/assignment.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cifarlab.errors import CifarlabError


def _parts(text: str) -> tuple[int, ...]:
    try:
        parts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"parts are numbers 1-4 separated by commas, got {text!r}") from None
    if not parts or not set(parts) <= {1, 2, 3, 4}:
        raise argparse.ArgumentTypeError(f"parts are numbers 1-4 separated by commas, got {text!r}")
    return parts


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def register(commands) -> None:
    parser = commands.add_parser(
        "assignment", help="the course assignment: a student folder, its checks and a grader",
        description="The course assignment, generated from cifarlab's own tested solution: `new` writes a "
                    "student folder (blanks, training scripts, public tests), `check` tells a student which "
                    "tasks pass, `grade` grades a folder of submissions with hidden tests.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    new = actions.add_parser("new", help="write a student folder",
                             description="Write a self-contained student folder: the course's files with each "
                                         "blank raising NotImplementedError, the training scripts, a README with "
                                         "the tasks in order and the public tests (pytest). It needs only NumPy, "
                                         "PyTorch and pytest, and holds no solution code.")
    new.add_argument("folder", type=Path, metavar="DIR", help="the folder to write (new, or empty)")
    new.add_argument("--parts", type=_parts, default=(1, 2, 3, 4), help="which parts, e.g. 1,3 (default: 1,2,3,4)")
    new.add_argument("--data", metavar="SOURCE",
                     help="also write DIR/data/cifar10.npz for the training scripts, from any source `cifarlab "
                          "train --data` reads (180 MB)")
    new.set_defaults(handler=run_new)

    check = actions.add_parser("check", help="run the public checks on a student folder",
                               description="Run the public checks on the student code in DIR (in a child "
                                           "process) and print one line per task: passed, not started, or "
                                           "failed with what is wrong. Exit status 0 when every task passes.")
    check.add_argument("folder", type=Path, metavar="DIR", help="the student folder")
    check.add_argument("--train", action="store_true",
                       help="also train DIR's NumPy MLP with the study's defaults on the real data and compare "
                            "its test accuracy with cifarlab's measured range")
    check.add_argument("--data", metavar="SOURCE", help="CIFAR-10 for --train (as for `cifarlab train --data`)")
    check.add_argument("--timeout", type=_positive, default=120.0, help="seconds for the checks (default: 120)")
    check.set_defaults(handler=run_check)

    grade = actions.add_parser("grade", help="grade a folder of submissions",
                               description="Grade every sub-folder of SUBMISSIONS_DIR (one per student), each in a "
                                           "child process of its own with time limits, on the public and hidden "
                                           "cases. A task earns its rubric points when every case matches "
                                           "cifarlab's values. Writes a CSV and one feedback file per student. "
                                           "Not a sandbox: run untrusted code in a container.")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    grade.add_argument("--out", type=Path, required=True, metavar="CSV", help="the grades file to write")
    grade.add_argument("--feedback", type=Path, metavar="DIR",
                       help="where STUDENT.md feedback goes (default: beside the CSV, CSV-NAME-feedback/)")
    grade.add_argument("--rubric", type=Path, metavar="TOML",
                       help="points per task in a [points] table (default: `cifarlab assignment rubric`)")
    grade.add_argument("--seed", type=int, default=0, help="seed of the hidden cases (default: 0; choose your own)")
    grade.add_argument("--parts", type=_parts, default=(1, 2, 3, 4), help="which parts to grade (default: 1,2,3,4)")
    grade.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default: 2)")
    grade.add_argument("--timeout", type=_positive, default=60.0,
                       help="seconds for one run of a submission's code before it counts as hanging (default: 60)")
    grade.add_argument("--submission-timeout", type=_positive, default=240.0,
                       help="seconds for all runs of one submission together (default: 240)")
    grade.set_defaults(handler=run_grade)

    rubric = actions.add_parser("rubric", help="print the default rubric (a TOML file to edit)",
                                description="Print the default points per task as a TOML file for --rubric.")
    rubric.set_defaults(handler=run_rubric)


def run_new(args) -> int:
    from cifarlab.assignment.handout import cifar10_arrays, write_folder

    if args.folder.exists() and (not args.folder.is_dir() or any(args.folder.iterdir())):
        raise CifarlabError(f"{args.folder} exists and is not an empty folder: give a new folder")
    arrays = cifar10_arrays(args.data) if args.data else None
    files = write_folder(args.folder, args.parts, arrays)
    print(f"wrote {len(files)} files to {args.folder} (parts {','.join(map(str, args.parts))}); "
          f"start with {args.folder / 'README.md'}")
    return 0


def run_check(args) -> int:
    from cifarlab.assignment.checking import check_folder, train_numpy_mlp
    from cifarlab.assignment.runner import Limits

    if not args.folder.is_dir():
        raise CifarlabError(f"{args.folder} is not a folder")
    limits = Limits(seconds_per_run=args.timeout, seconds_per_submission=args.timeout)
    passed = check_folder(args.folder, limits)
    if args.train:
        passed = train_numpy_mlp(args.folder, args.data) and passed
    return 0 if passed else 1


def run_grade(args) -> int:
    from cifarlab.assignment.grading import grade_all, load_rubric
    from cifarlab.assignment.runner import Limits

    if args.jobs < 1:
        raise CifarlabError("--jobs must be at least 1")
    if args.seed < 0:
        raise CifarlabError(f"--seed must be 0 or more, got {args.seed}")
    feedback = args.feedback or args.out.with_name(f"{args.out.stem}-feedback")
    limits = Limits(seconds_per_run=args.timeout, seconds_per_submission=args.submission_timeout)
    grades = grade_all(args.submissions, args.out, feedback, load_rubric(args.rubric), args.seed, limits,
                       args.jobs, args.parts)
    print(f"graded {len(grades)} submissions: {args.out}, feedback in {feedback}/")
    return 0


def run_rubric(args) -> int:
    from cifarlab.assignment.tasks import TASKS

    print("# points per task for `cifarlab assignment grade --rubric FILE`; a task earns its points when every")
    print("# public and hidden case of it matches cifarlab's values")
    print("[points]")
    for task in TASKS:
        print(f"{task.id} = {task.points}  # part {task.part}, {task.title}")
    return 0
