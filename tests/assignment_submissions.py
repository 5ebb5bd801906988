"""Submissions built for the assignment's tests: the skeleton, the skeleton filled back in with
cifarlab's own solution, one planted mistake per task, hand-written alternatives, and the
badly behaved ones (crashing, hanging, printing without end, deleting files, cheating)."""

from __future__ import annotations

import shutil
from pathlib import Path

from cifarlab.assignment.blanks import solution_source
from cifarlab.assignment.handout import PART_FILES, write_folder

ALTERNATIVE = Path(__file__).with_name("assignment_alternative")
ALL_PARTS = (1, 2, 3, 4)
STUDENT_FILES = sorted({name for files in PART_FILES.values() for name in files} | {"cifar10_utils.py"})

# One planted mistake per graded task, in that task's own code: (task, file, correct text, wrong text).
MUTATIONS = [
    ("linear", "modules.py", 'self.grads["weight"] = dout.T @ self.x', 'self.grads["weight"] = self.x.T @ dout'),
    ("linear", "modules.py", 'self.grads["bias"] = dout.sum(axis=0)', 'self.grads["bias"] = dout.mean(axis=0)'),
    ("leaky_relu", "modules.py", "dx = np.where(self.positive, dout, self.neg_slope * dout)",
     "dx = np.where(self.positive, dout, 0.01 * dout)"),
    ("softmax", "modules.py", "exponentials = np.exp(x - x.max(axis=1, keepdims=True))\n        out =",
     "exponentials = np.exp(x)\n        out ="),
    ("softmax", "modules.py", "dx = s * (dout - np.sum(dout * s, axis=1, keepdims=True))",
     "dx = s * (dout + np.sum(dout * s, axis=1, keepdims=True))"),
    ("cross_entropy", "modules.py", "dx = -y / x / len(x)", "dx = -y / x"),
    ("softmax_cross_entropy", "modules.py", "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x"),
    ("mlp_numpy", "mlp_numpy.py", "LeakyReLUModule(neg_slope)", "LeakyReLUModule(0.0)"),
    ("sgd_step", "train_mlp_numpy.py", 'layer.params[name] -= learning_rate', 'layer.params[name] += learning_rate'),
    ("accuracy", "train_mlp_numpy.py", "targets.argmax(axis=1)", "targets.argmin(axis=1)"),
    ("mlp_pytorch", "mlp_pytorch.py", "nn.LeakyReLU(neg_slope)", "nn.ReLU()"),
    ("batchnorm_autograd", "custom_batchnorm.py", "/ torch.sqrt(var + self.eps)", "/ torch.sqrt(var)"),
    ("batchnorm_function", "custom_batchnorm.py", "(batch * grad_output - grad_beta - xhat * grad_gamma)",
     "(batch * grad_output - xhat * grad_gamma)"),
    ("batchnorm_module", "custom_batchnorm.py", "apply(input, self.gamma, self.beta, self.eps)",
     "apply(input, self.gamma, self.beta, 1e-2)"),
    ("convnet", "convnet_pytorch.py", "nn.BatchNorm2d(item),\n                           nn.ReLU()]",
     "nn.BatchNorm2d(item)]"),
]


def skeleton(folder: Path, parts=ALL_PARTS) -> Path:
    write_folder(folder, parts)
    return folder


def solved(folder: Path, parts=ALL_PARTS) -> Path:
    """The skeleton filled back in with cifarlab's own solution."""
    skeleton(folder, parts)
    for name in STUDENT_FILES:
        if (folder / name).exists():
            (folder / name).write_text(solution_source(name))
    return folder


def edited(folder: Path, file: str, old: str, new: str) -> Path:
    text = (folder / file).read_text()
    assert text.count(old) == 1, f"{old!r} should occur once in {file}"
    (folder / file).write_text(text.replace(old, new))
    return folder


def mutant(folder: Path, file: str, old: str, new: str) -> Path:
    return edited(solved(folder), file, old, new)


def alternative(folder: Path, spring_edition: bool = False) -> Path:
    """The hand-written solution in tests/assignment_alternative; `spring_edition`: its biases as
    (out, 1), a NumPy MLP without neg_slope (ReLU), as the spring 2019 skeleton had it, and a
    CrossEntropyModule with the softmax fused in (on logits)."""
    shutil.copytree(ALTERNATIVE, folder)
    if spring_edition:
        bias_shape = "(out_features, 1)"
        text = (folder / "modules.py").read_text()
        text = text.replace("np.zeros((1, out_features))", f"np.zeros({bias_shape})")
        text = text.replace("return out + self.params[\"bias\"]", "return out + self.params[\"bias\"].reshape(1, -1)")
        text = text.replace("np.sum(dout, axis=0, keepdims=True)",
                            "np.sum(dout, axis=0).reshape(self.params[\"bias\"].shape)")
        (folder / "modules.py").write_text(text)
        edited(folder, "mlp_numpy.py", "n_classes, neg_slope):", "n_classes):")
        edited(folder, "mlp_numpy.py", "LeakyReLUModule(neg_slope)", "LeakyReLUModule(0.0)")
        edited(folder, "modules.py", "return np.mean(-np.log(np.sum(x * y, axis=1)))",
               "return SoftMaxCrossEntropyModule().forward(x, y)")
        edited(folder, "modules.py", "return -(y / x) / x.shape[0]",
               "return SoftMaxCrossEntropyModule().backward(x, y)")
    return folder


def with_file(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder


def prepend(folder: Path, file: str, text: str) -> Path:
    (folder / file).write_text(text + (folder / file).read_text())
    return folder
