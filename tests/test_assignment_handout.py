"""`cifarlab assignment new`: the student folder, generated from the marked solution; its public
tests (pytest in the folder) fail on the skeleton and pass on the skeleton filled back in."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cifarlab.assignment.blanks import MarkerError, blank_out, regions, solution_source
from cifarlab.cli.main import main
from tests.assignment_submissions import STUDENT_FILES, edited, skeleton, solved

COURSE_NAMES = {"modules.py": {"LinearModule", "LeakyReLUModule", "SoftMaxModule", "CrossEntropyModule"},
                "mlp_numpy.py": {"MLP"}, "mlp_pytorch.py": {"MLP"}, "convnet_pytorch.py": {"ConvNet"},
                "custom_batchnorm.py": {"CustomBatchNormAutograd", "CustomBatchNormManualFunction",
                                        "CustomBatchNormManualModule"}}


def test_blank_out_keeps_the_markers_and_raises_where_the_body_was():
    source = ("def f(x):\n    \"\"\"doc\"\"\"\n    # PUT YOUR CODE HERE\n    y = x + 1\n    # END OF YOUR CODE\n"
              "    return y\n")
    assert blank_out(source) == ("def f(x):\n    \"\"\"doc\"\"\"\n    # PUT YOUR CODE HERE\n"
                                 "    raise NotImplementedError\n    # END OF YOUR CODE\n    return y\n")


@pytest.mark.parametrize("source", ["# PUT YOUR CODE HERE\nx = 1\n", "x = 1\n# END OF YOUR CODE\n",
                                    "# PUT YOUR CODE HERE\n# PUT YOUR CODE HERE\n# END OF YOUR CODE\n"])
def test_an_unpaired_marker_is_an_error(source):
    with pytest.raises(MarkerError):
        regions(source)


@pytest.mark.parametrize("name", STUDENT_FILES)
def test_no_line_of_a_blanked_region_reaches_the_skeleton(name):
    source = solution_source(name)
    lines = source.splitlines()
    hidden = {lines[number].strip() for begin, end in regions(source) for number in range(begin + 1, end)}
    skeleton_lines = {line.strip() for line in blank_out(source).splitlines()}
    assert not hidden & skeleton_lines - {""}
    ast.parse(blank_out(source))  # still Python


def test_the_folder_has_the_course_interface_and_no_solution(tmp_path):
    folder = skeleton(tmp_path / "hw")
    for name, classes in COURSE_NAMES.items():
        defined = {node.name for node in ast.walk(ast.parse((folder / name).read_text()))
                   if isinstance(node, ast.ClassDef)}
        assert classes <= defined, name
    for path in folder.rglob("*.py"):
        text = path.read_text()
        assert "import cifarlab" not in text and "from cifarlab" not in text, path
    for name in STUDENT_FILES:
        assert (folder / name).read_text() == blank_out(solution_source(name))
    assert "LinearModule" in (folder / "README.md").read_text()


def _pytest_in(folder: Path) -> subprocess.CompletedProcess:
    """The folder's own tests, as a student runs them: no cifarlab on the path, only the folder."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
                           str(folder)], cwd=folder, capture_output=True, text=True, timeout=300)


def test_the_public_tests_fail_on_the_skeleton_as_not_started(tmp_path):
    result = _pytest_in(skeleton(tmp_path / "hw"))
    assert result.returncode == 1
    assert "13 failed" in result.stdout
    assert "not started: LinearModule.forward raises NotImplementedError" in result.stdout


def test_the_public_tests_pass_on_the_solution(tmp_path):
    result = _pytest_in(solved(tmp_path / "hw"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "13 passed" in result.stdout


def test_parts_choose_the_files_and_the_tests(tmp_path, capsys):
    assert main(["assignment", "new", str(tmp_path / "hw"), "--parts", "3"]) == 0
    files = {path.name for path in (tmp_path / "hw").iterdir()}
    assert {"custom_batchnorm.py", "cifar10_utils.py", "test_assignment.py"} <= files
    assert not {"modules.py", "mlp_pytorch.py", "convnet_pytorch.py"} & files
    assert "'batchnorm_function'" in (tmp_path / "hw" / "test_assignment.py").read_text()
    assert "'linear'" not in (tmp_path / "hw" / "test_assignment.py").read_text()


@pytest.mark.parametrize("argv, words", [(["--parts", "5"], "parts are numbers 1-4"),
                                         (["--parts", "one"], "parts are numbers 1-4")])
def test_bad_parts_are_refused(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as stopped:
        main(["assignment", "new", str(tmp_path / "hw"), *argv])
    assert stopped.value.code == 2 and words in capsys.readouterr().err


def test_a_folder_with_files_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / "notes.txt").write_text("mine")
    assert main(["assignment", "new", str(tmp_path / "hw")]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "hw" / "notes.txt").read_text() == "mine"


def test_the_public_tests_accept_a_cross_entropy_module_with_the_softmax_fused_in(tmp_path):
    folder = edited(solved(tmp_path / "hw", parts=(1,)), "modules.py", "out = -np.sum(y * np.log(x)) / len(x)",
                    "out = SoftMaxCrossEntropyModule().forward(x, y)")
    edited(folder, "modules.py", "dx = -y / x / len(x)", "dx = SoftMaxCrossEntropyModule().backward(x, y)")
    result = _pytest_in(folder)
    assert result.returncode == 0 and "8 passed" in result.stdout, result.stdout[-2000:]
