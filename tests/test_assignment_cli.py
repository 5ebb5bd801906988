"""The assignment's commands end to end: grade's files, the rubric round trip, the data file
and the training scripts of the student folder on tiny data, and one-line errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from cifarlab.assignment.grading import load_rubric
from cifarlab.assignment.tasks import TASKS
from cifarlab.cli.main import main
from tests.assignment_submissions import skeleton, solved


def test_grade_writes_the_csv_and_a_feedback_file_per_student(tmp_path, capsys):
    solved(tmp_path / "in" / "ada")
    skeleton(tmp_path / "in" / "bob", parts=(1,))
    assert main(["assignment", "grade", str(tmp_path / "in"), "--out", str(tmp_path / "grades.csv"),
                 "--parts", "1"]) == 0
    with (tmp_path / "grades.csv").open() as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    part_1 = sum(task.points for task in TASKS if task.part == 1)
    assert rows["ada"]["total"] == rows["ada"]["max"] == str(part_1) and rows["bob"]["total"] == "0"
    assert "convnet" not in rows["ada"]
    feedback = (tmp_path / "grades-feedback" / "bob.md").read_text()
    assert feedback.startswith(f"# bob: 0 of {part_1} points")
    assert "LinearModule (0/10): not started: LinearModule.forward raises NotImplementedError" in feedback
    assert "ada: " in capsys.readouterr().err


def test_the_printed_rubric_is_a_rubric_file(tmp_path, capsys):
    assert main(["assignment", "rubric"]) == 0
    (tmp_path / "rubric.toml").write_text(capsys.readouterr().out)
    assert load_rubric(tmp_path / "rubric.toml") == {task.id: float(task.points) for task in TASKS}


@pytest.mark.parametrize("argv, words", [
    (["grade", "missing", "--out", "g.csv"], "is not a folder of submissions"),
    (["grade", ".", "--out", "g.csv", "--jobs", "0"], "--jobs must be at least 1"),
    (["grade", ".", "--out", "g.csv", "--seed", "-1"], "--seed must be 0 or more, got -1"),
    (["check", "missing"], "is not a folder"),
])
def test_mistakes_get_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    assert main(["assignment", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_an_empty_submissions_folder_is_refused(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    assert main(["assignment", "grade", str(tmp_path / "in"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "holds no submissions" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["train_mlp_numpy.py", "train_mlp_pytorch.py", "train_convnet_pytorch.py"])
def test_the_training_scripts_train_the_solution_on_the_data_file_new_writes(tmp_path, tiny_png_folder, script):
    assert main(["assignment", "new", str(tmp_path / "hw"), "--data", str(tiny_png_folder)]) == 0
    folder = solved(tmp_path / "solved")
    (folder / "data").mkdir()
    (folder / "data" / "cifar10.npz").write_bytes((tmp_path / "hw" / "data" / "cifar10.npz").read_bytes())
    with np.load(folder / "data" / "cifar10.npz") as arrays:
        assert arrays["x_train"].shape == (50, 32, 32, 3) and arrays["y_test"].shape == (20,)
    subprocess.run([sys.executable, script, "--max_steps", "3", "--eval_freq", "2", "--batch_size", "4"],
                   cwd=folder, check=True, capture_output=True, timeout=300)
    results = json.loads((folder / "results" / script[len("train_"):-len(".py")] / "results.json").read_text())
    assert results["step"] == 3 and 0.0 <= results["test_accuracy"] <= 1.0


def test_a_submission_writing_a_file_past_the_limit_loses_only_that_task(tmp_path):
    from cifarlab.assignment.grading import grade_all
    from cifarlab.assignment.runner import Limits
    from tests.assignment_submissions import edited

    edited(solved(tmp_path / "in" / "filler", parts=(1,)), "modules.py", "        self.x = x\n",
           "        open('big.bin', 'wb').write(bytes(2 * 2**20))\n        self.x = x\n")
    grades = grade_all(tmp_path / "in", tmp_path / "g.csv", tmp_path / "feedback", load_rubric(None), 0,
                       Limits(file_bytes=2**20), jobs=1, parts=(1,))
    verdicts = grades[0].assessment.verdicts
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process
    assert verdicts["linear"].status == "failed" and "File too large" in verdicts["linear"].message
    assert all(verdict.passed for task, verdict in verdicts.items() if task != "linear")
