"""`cifarlab assignment new`: write the student folder.

The folder holds the skeleton files (solution/ with its marked regions blanked), the
training scripts, a README with the tasks in order, the public tests (test_assignment.py)
and what they need (checks/: the probe, the comparison, the public inputs and the values
cifarlab computes for them). It needs only NumPy, PyTorch and pytest; no solution code.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from cifarlab.assignment import cases, expected
from cifarlab.assignment.blanks import blank_out, solution_source
from cifarlab.assignment.tasks import PARTS, TASKS_BY_ID, tasks_of, variant_key

PART_FILES = {
    1: ("modules.py", "mlp_numpy.py", "train_mlp_numpy.py"),
    2: ("mlp_pytorch.py", "torch_training.py", "train_mlp_pytorch.py"),
    3: ("custom_batchnorm.py",),
    4: ("convnet_pytorch.py", "torch_training.py", "train_convnet_pytorch.py"),
}
SHARED_FILES = ("cifar10_utils.py",)
CHECK_FILES = ("tasks.py", "probe.py", "probe_tasks.py", "compare.py")

FORMULAS = {
    "linear": "out = x W^T + b;  dL/dW = dout^T x,  dL/db = sum over the batch of dout,  dL/dx = dout W",
    "leaky_relu": "out = x if x > 0 else a x;  dL/dx = dout (1{x > 0} + a 1{x <= 0})",
    "softmax": "s = exp(x - max) / sum exp(x - max);  dL/dx = s * (dout - sum_j dout_j s_j)",
    "cross_entropy": "L = -1/B sum y log x;  dL/dx = -y / x / B",
    "softmax_cross_entropy": "L = -1/B sum y log softmax(x) (through log-sum-exp);  dL/dx = (softmax(x) - y) / B",
    "mlp_numpy": "the layers in order forward, in reverse order backward (the chain rule)",
    "sgd_step": "p <- p - learning_rate * dL/dp for every weight and bias",
    "accuracy": "the fraction of rows whose largest prediction is the target class",
    "mlp_pytorch": "Linear -> LeakyReLU(neg_slope) per hidden layer, then Linear; forward returns logits",
    "batchnorm_autograd": "y = gamma (x - mean) / sqrt(var + eps) + beta, batch mean and biased variance",
    "batchnorm_function": "dL/dgamma = sum dL/dy xhat;  dL/dbeta = sum dL/dy;  "
                          "dL/dx = gamma / (B sqrt(var + eps)) (B dL/dy - dL/dbeta - xhat dL/dgamma)",
    "batchnorm_module": "the module around CustomBatchNormManualFunction",
    "convnet": "conv64-pool-conv128-pool-conv256x2-pool-conv512x2-pool-conv512x2-pool-linear, "
               "conv 3x3 + BatchNorm2d + ReLU, max-pool 3x3 stride 2 padding 1",
}


def public_expected(task_ids, cases_file: Path) -> dict[str, np.ndarray]:
    """Expected values of the public cases in every form (variant and alternative): keys "task|form|case/name"."""
    flat = {}
    with np.load(cases_file) as arrays:
        for task in task_ids:
            info = TASKS_BY_ID[task]
            for form in [variant | alternative for variant in info.variants for alternative in info.alternatives]:
                for key, value in expected.expected_values(task, arrays, form).items():
                    flat[f"{task}|{variant_key(form)}|{key}"] = value
    return flat


def _readme(parts) -> str:
    lines = ["# CIFAR-10 assignment", "",
             "Fill in every region between `# PUT YOUR CODE HERE` and `# END OF YOUR CODE` (each now raises",
             "`NotImplementedError`). The docstring above each one says what it takes, what it returns and",
             "the formula. Work in the order below: later tasks use earlier ones.", "",
             "Check your work with `pytest` in this folder (the command beside each task runs its test), or with",
             "`cifarlab assignment check .` if you have cifarlab. A task passes when its outputs and",
             "gradients match the expected values to a relative error below 1e-6 (1e-4 in float32).", "",
             "Only NumPy, PyTorch and pytest are needed (`pip install numpy torch pytest`).", ""]
    for part in parts:
        lines += [f"## Part {part}: {PARTS[part]}", ""]
        for number, task in enumerate(tasks_of([part]), 1):
            lines += [f"{number}. **{task.title}** in `{task.file}`, {task.points} points: "
                      f"`pytest \"test_assignment.py::test_task[{task.id}]\"`",
                      f"   - {FORMULAS[task.id]}"]
        lines.append("")
    lines += ["## Training", "",
              "The `train_*.py` scripts use your files with the study's defaults (`python train_mlp_numpy.py",
              "--help`). They read CIFAR-10 from `--data_dir`: the official `cifar-10-batches-py` folder, or",
              "`data/cifar10.npz` (which `cifarlab assignment new DIR --data SOURCE` writes).", ""]
    return "\n".join(lines)


def _test_file(task_ids) -> str:
    return f'''"""The public tests: `pytest` here runs one test per task (`pytest -k linear` runs one)."""

import pathlib
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "checks")]

import compare  # noqa: E402
import probe  # noqa: E402
from tasks import TASKS_BY_ID, variant_key  # noqa: E402

TASK_IDS = {list(task_ids)!r}


def expected_for(task, form):
    with np.load(HERE / "checks" / "public_expected.npz") as arrays:
        prefix = f"{{task}}|{{variant_key(form)}}|"
        found = {{name[len(prefix):]: arrays[name] for name in arrays.files if name.startswith(prefix)}}
    if not found:
        pytest.fail(f"no expected values for {{task}} in the form {{form}}")
    return found


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_task(task_id):
    with np.load(HERE / "checks" / "public_cases.npz") as arrays:
        cases = probe.cases_of(arrays, task_id)
    status, message, values, variant = probe.run_task(task_id, cases)
    verdict = compare.judge_forms(TASKS_BY_ID[task_id], status, message, values, variant,
                                  lambda form: expected_for(task_id, form))
    assert verdict.passed, f"{{verdict.status}}: {{verdict.message}}"
'''


def write_folder(target: Path, parts, data_arrays=None) -> list[str]:
    """Write the student folder for `parts` into `target` (new or empty); -> the files written.

    Everything is written into a temporary folder beside `target` and renamed at the end,
    so an interrupted run leaves no half-written folder."""
    task_ids = [task.id for task in tasks_of(parts)]
    files = list(dict.fromkeys([name for part in sorted(parts) for name in PART_FILES[part]] + list(SHARED_FILES)))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name in files:
            (staging / name).write_text(blank_out(solution_source(name)))
        checks = staging / "checks"
        checks.mkdir()
        here = Path(__file__).parent
        for name in CHECK_FILES:
            shutil.copyfile(here / name, checks / name)
        np.savez(checks / "public_cases.npz", **cases.build_cases(task_ids))
        np.savez(checks / "public_expected.npz", **public_expected(task_ids, checks / "public_cases.npz"))
        (staging / "test_assignment.py").write_text(_test_file(task_ids))
        (staging / "README.md").write_text(_readme(sorted(parts)))
        if data_arrays is not None:
            (staging / "data").mkdir()
            np.savez(staging / "data" / "cifar10.npz", **data_arrays)
        if target.exists():
            target.rmdir()  # only an empty folder is replaced (the caller checked)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(str(path.relative_to(target)) for path in target.rglob("*") if path.is_file())


def cifar10_arrays(data) -> dict[str, np.ndarray]:
    """CIFAR-10 from any source cifarlab reads, as the arrays cifar10_utils.py reads from an .npz."""
    from cifarlab.data.store import load_cifar10

    loaded = load_cifar10(data)
    return {"x_train": np.asarray(loaded.train_images), "y_train": np.asarray(loaded.train_labels),
            "x_test": np.asarray(loaded.test_images), "y_test": np.asarray(loaded.test_labels)}


