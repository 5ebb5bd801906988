"""`cifarlab assignment check`: one line per task, in words a student can act on."""

from __future__ import annotations

import numpy as np
import pytest

from cifarlab.assignment.compare import compare_value
from cifarlab.assignment.tasks import TASKS
from cifarlab.cli.main import main
from tests.assignment_submissions import edited, skeleton, solved

LINEAR_BY_HAND = '''        # PUT YOUR CODE HERE
        self.input = x
        out = np.dot(x, self.params["weight"].T) + self.params["bias"]
        # END OF YOUR CODE
        return out

    def backward(self, dout):
        """hand-written"""
        self.grads["weight"] = np.dot(dout.T, self.input)
        self.grads["bias"] = np.sum(dout, axis=0)
        return np.dot(dout, self.params["weight"])
'''


def _fill_linear_by_hand(folder):
    text = (folder / "modules.py").read_text()
    start = text.index("        # PUT YOUR CODE HERE", text.index("class LinearModule"))
    end = text.index("class LeakyReLUModule")
    (folder / "modules.py").write_text(text[:start] + LINEAR_BY_HAND + "\n\n" + text[end:])


def test_a_student_who_filled_in_linear_sees_it_pass_and_the_rest_not_started(tmp_path, capsys):
    folder = skeleton(tmp_path / "hw")
    _fill_linear_by_hand(folder)
    assert main(["assignment", "check", str(folder)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["part", "1", "LinearModule", "passed"]
    assert len(lines) == len(TASKS) + 1 and all("not started" in line for line in lines[1:-1])
    sgd_step = next(line for line in lines if "sgd_step" in line)
    assert sgd_step.endswith("MLP.__init__ raises NotImplementedError (sgd_step uses it: fill it in first)")
    assert lines[-1] == f"1 of {len(TASKS)} tasks pass"


def test_a_wrong_gradient_is_named_with_its_error(tmp_path, capsys):
    folder = edited(solved(tmp_path / "hw"), "modules.py", 'self.grads["bias"] = dout.sum(axis=0)',
                    'self.grads["bias"] = dout.mean(axis=0)')
    assert main(["assignment", "check", str(folder)]) == 1
    line = capsys.readouterr().out.splitlines()[0]
    assert "failed: LinearModule.backward: dL/db differs from the expected values by" in line
    assert ("(largest relative error; below 1e-06 expected); it is 0.25 times the expected values (a factor "
            "missing or too many) [case: batch 4, 5 in, 3 out]") in line  # a mean over the batch of 4


def test_a_solved_folder_passes_every_task(tmp_path, capsys):
    assert main(["assignment", "check", str(solved(tmp_path / "hw"))]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(TASKS)} of {len(TASKS)} tasks pass"


def test_a_folder_without_the_assignment_is_refused_in_one_line(tmp_path, capsys):
    assert main(["assignment", "check", str(tmp_path)]) == 2
    assert "holds none of the assignment's files" in capsys.readouterr().err


@pytest.mark.parametrize("computed, words", [
    (np.ones((2, 3)), None),
    (np.ones((3, 2)), "has shape (3, 2); (2, 3) was expected"),
    (np.full((2, 3), np.nan), "contains NaN or infinity"),
    (np.ones((2, 3)) * 1.01, "differs from the expected values by 1.0e-02"),
    (np.array(["a"]), "is not an array of numbers"),
])
def test_compare_value_says_what_is_wrong(computed, words):
    problem = compare_value("X.forward: the output", "case 1", computed, np.ones((2, 3)))
    assert problem is None if words is None else words in problem


@pytest.mark.realdata
def test_train_runs_the_students_numpy_mlp_and_finds_it_in_cifarlabs_range(real_data_path, tmp_path, capsys):
    folder = solved(tmp_path / "hw", parts=(1,))
    assert main(["assignment", "check", str(folder), "--train", "--data", str(real_data_path)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("training: test accuracy") and "inside cifarlab's range for this run" in last


def test_train_without_part_1_is_refused_in_one_line(tmp_path, capsys):
    folder = solved(tmp_path / "hw", parts=(3,))
    assert main(["assignment", "check", str(folder), "--train", "--data", "unused"]) == 2
    assert "has no train_mlp_numpy.py" in capsys.readouterr().err


def test_what_the_students_code_prints_is_shown_after_the_verdicts(tmp_path, capsys):
    folder = edited(solved(tmp_path / "hw", parts=(1,)), "modules.py", "        self.x = x\n",
                    "        print('shape of x:', x.shape)\n        self.x = x\n")
    assert main(["assignment", "check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "what your code printed" in out and "shape of x: (4, 5)" in out
