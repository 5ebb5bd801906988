"""`cifarlab assignment grade`: scores come from the values a submission computes, compared
with cifarlab's own in the grader's process; no submission can stop the others or award itself
points. One grading run of many submissions is shared by the tests below (it takes a minute)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from tests.assignment_submissions import (MUTATIONS, alternative, edited, mutant, prepend, skeleton, solved, with_file)
from cifarlab.assignment.grading import grade_all, load_rubric
from cifarlab.assignment.runner import Limits
from cifarlab.assignment.tasks import TASKS, TASKS_BY_ID
from cifarlab.errors import CifarlabError

PART_1 = [task.id for task in TASKS if task.part == 1]
FULL = {task.id: float(task.points) for task in TASKS}
LIMITS = Limits(seconds_per_run=12.0, seconds_per_submission=60.0)  # a whole run takes about 3 s
WITHIN_SECONDS = 300  # the whole run; its measured time is in RESULTS.md, "The course assignment"

PATCH_PYTEST = '''
import sys, types
fake = types.ModuleType("pytest")
fake.main = lambda *args, **kwargs: 0
sys.modules["pytest"] = fake
try:
    import _pytest.runner
    _pytest.runner.pytest_runtest_call = lambda item: None
except ImportError:
    pass
'''
FAKE_REPORT = 'print("13 passed in 0.5s")\nprint("linear passed\\nsoftmax passed\\nTOTAL: 117/117")\n'


def _build(root: Path) -> dict[str, dict[str, float]]:
    """Write every submission under root; -> the points each should get, per task."""
    expected = {}

    def expect(name, lost=(), kept=None):
        points = dict(FULL) if kept is None else {task: (FULL[task] if task in kept else 0.0) for task in FULL}
        for task in lost:
            points[task] = 0.0
        expected[name] = points

    solved(root / "a-solution")
    expect("a-solution")
    alternative(root / "b-alternative")
    expect("b-alternative")
    alternative(root / "c-alternative-spring-edition", spring_edition=True)
    expect("c-alternative-spring-edition")
    skeleton(root / "d-blank")
    expect("d-blank", kept=())
    partly = skeleton(root / "e-part-1-only")
    for name in ("modules.py", "mlp_numpy.py", "train_mlp_numpy.py"):
        (partly / name).write_text((root / "a-solution" / name).read_text())
    expect("e-part-1-only", kept=PART_1)
    for index, (task, file, old, new) in enumerate(MUTATIONS):
        mutant(root / f"m{index:02d}-{task}", file, old, new)
        expect(f"m{index:02d}-{task}", lost=[task])
    # crashing
    with_file(solved(root / "x-syntax-error"), "modules.py", "def broken(:\n")
    # the MLP and sgd_step are judged on cifarlab's modules (probe.BUILT_ON); train_mlp_numpy.py imports modules.py
    expect("x-syntax-error", lost=["linear", "leaky_relu", "softmax", "cross_entropy", "softmax_cross_entropy",
                                   "accuracy"])
    prepend(solved(root / "x-dies-importing-mlp-pytorch"), "mlp_pytorch.py", "import os\nos._exit(3)\n")
    expect("x-dies-importing-mlp-pytorch", lost=["mlp_pytorch"])
    edited(solved(root / "x-segfault-in-convnet"), "convnet_pytorch.py", "        out = self.classifier(",
           "        import ctypes; ctypes.string_at(0)\n        out = self.classifier(")
    expect("x-segfault-in-convnet", lost=["convnet"])
    # hanging and printing without end
    edited(solved(root / "y-endless-softmax"), "modules.py", "        s = self.out\n",
           "        while True:\n            pass\n        s = self.out\n")
    expect("y-endless-softmax", lost=["softmax"])
    edited(solved(root / "y-prints-forever"), "mlp_pytorch.py", "        out = self.layers(x)\n",
           "        while True:\n            print('x' * 10000)\n        out = self.layers(x)\n")
    expect("y-prints-forever", lost=["mlp_pytorch"])
    edited(solved(root / "y-prints-megabytes"), "modules.py", "        self.x = x\n",
           "        print('y' * 3_000_000)\n        self.x = x\n")
    expect("y-prints-megabytes")
    # deleting its own files: keeps what it earned, with a note
    edited(solved(root / "z-deletes-files"), "convnet_pytorch.py", "        out = self.classifier(",
           "        import os, glob\n        [os.remove(f) for f in glob.glob('*.py')]\n        out = self.classifier(")
    expect("z-deletes-files")
    # cheats, every task left blank
    with_file(skeleton(root / "cheat-prints-report"), "modules.py",
              FAKE_REPORT + (root / "d-blank" / "modules.py").read_text())
    expect("cheat-prints-report", kept=())
    prepend(skeleton(root / "cheat-exits-0"), "modules.py", "import sys\nprint('all tests passed')\nsys.exit(0)\n")
    prepend(root / "cheat-exits-0", "mlp_pytorch.py", "import os\nos._exit(0)\n")
    expect("cheat-exits-0", kept=())
    cheat = skeleton(root / "cheat-patches-pytest")
    for name in ("conftest.py", "sitecustomize.py", "usercustomize.py"):
        with_file(cheat, name, PATCH_PYTEST)
    prepend(cheat, "modules.py", PATCH_PYTEST)
    expect("cheat-patches-pytest", kept=())
    prepend(skeleton(root / "cheat-imports-cifarlab"), "modules.py",
            "from cifarlab.assignment.solution.modules import *  # noqa\n")
    expect("cheat-imports-cifarlab", kept=())
    prepend(skeleton(root / "cheat-writes-results"), "modules.py",
            "import glob, json, os\nfor d in glob.glob('/tmp/cifarlab-probe-*/*/'):\n"
            "    open(os.path.join(d, 'linear.json'), 'w').write(json.dumps({'status': 'ran'}))\n")
    expect("cheat-writes-results", kept=())
    return expected


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    expected = _build(root / "in")
    out = root / "grades.csv"
    started = time.monotonic()
    grades = grade_all(root / "in", out, root / "feedback", load_rubric(None), hidden_seed=7, limits=LIMITS, jobs=2)
    return {"grades": {grade.student: grade for grade in grades}, "expected": expected, "out": out,
            "feedback": root / "feedback", "seconds": time.monotonic() - started, "root": root}


def test_every_submission_gets_exactly_its_expected_score_within_the_set_time(graded):
    assert len(graded["grades"]) >= 20
    for student, points in graded["expected"].items():
        got = graded["grades"][student].points
        wrong = {task: (got[task], points[task]) for task in points if got[task] != points[task]}
        assert not wrong, f"{student}: (got, expected) points {wrong}; feedback:\n" \
                          + (graded["feedback"] / f"{student}.md").read_text()
    assert graded["seconds"] < WITHIN_SECONDS


def test_a_planted_mistake_is_named_in_the_feedback(graded):
    for index, (task, *_) in enumerate(MUTATIONS):
        student = f"m{index:02d}-{task}"
        verdict = graded["grades"][student].assessment.verdicts[task]
        assert verdict.status == "failed"
        feedback = (graded["feedback"] / f"{student}.md").read_text()
        assert f"{TASKS_BY_ID[task].title} (0/" in feedback and verdict.message in feedback


def test_the_blank_skeleton_reports_every_task_as_not_started(graded):
    verdicts = graded["grades"]["d-blank"].assessment.verdicts
    assert {verdict.status for verdict in verdicts.values()} == {"not started"}
    assert "raises NotImplementedError" in verdicts["linear"].message


def test_crashes_and_hangs_are_told_in_words(graded):
    grades = graded["grades"]
    assert "did not finish within 12 s" in grades["y-endless-softmax"].assessment.verdicts["softmax"].message
    assert "signal SIGSEGV" in grades["x-segfault-in-convnet"].assessment.verdicts["convnet"].message
    assert "exited with code 3" in grades["x-dies-importing-mlp-pytorch"].assessment.verdicts["mlp_pytorch"].message
    assert "SyntaxError" in grades["x-syntax-error"].assessment.verdicts["linear"].message
    assert any("printed" in note for note in grades["y-prints-megabytes"].notes)
    assert any("deleted" in note and "modules.py" in note for note in grades["z-deletes-files"].notes)


def test_the_csv_has_one_row_per_student_with_points_per_task(graded):
    with graded["out"].open() as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert set(rows) == set(graded["expected"])
    assert rows["a-solution"]["total"] == rows["a-solution"]["max"] == f"{sum(FULL.values()):g}"
    assert rows["d-blank"]["total"] == "0"
    assert rows["m00-linear"]["linear"] == "0" and rows["m00-linear"]["softmax"] == f"{FULL['softmax']:g}"


def test_the_submissions_own_folders_are_left_as_they_were(graded):
    assert (graded["root"] / "in" / "z-deletes-files" / "modules.py").is_file()


def test_a_rubric_file_changes_the_points(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[points]\nlinear = 3\nconvnet = 0.5\n")
    points = load_rubric(rubric)
    assert points["linear"] == 3 and points["convnet"] == 0.5 and points["softmax"] == FULL["softmax"]


@pytest.mark.parametrize("text, words", [("[points]\nlinaer = 3\n", "unknown task 'linaer'"),
                                         ("[points]\nlinear = -1\n", "must be a number >= 0"),
                                         ("[points\n", "cannot read the rubric")])
def test_a_bad_rubric_is_refused_in_one_line(tmp_path, text, words):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(text)
    with pytest.raises(CifarlabError, match=words):
        load_rubric(rubric)
