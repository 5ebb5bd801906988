"""Compare analytic gradients with central finite differences, in float64.

The scalar probed for a module is L = sum(forward(x) * R) for a fixed random R, so the
analytic path is backward(R); for losses it is the loss itself. Error per tensor is
||analytic - numeric|| / (||analytic|| + ||numeric||), checked on up to `samples`
entries of each tensor (all of them for small tensors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cifarlab.numpy_nn.activations import LeakyReLU, ReLU, Softmax
from cifarlab.numpy_nn.batchnorm import BatchNorm1d
from cifarlab.numpy_nn.dropout import Dropout
from cifarlab.numpy_nn.linear import Linear
from cifarlab.numpy_nn.losses import CrossEntropy, SoftmaxCrossEntropy
from cifarlab.numpy_nn.module import Module
from cifarlab.numpy_nn.sequential import Sequential, build_mlp

TOLERANCE = 1e-6


@dataclass(frozen=True)
class GradCheckResult:
    name: str
    errors: dict[str, float]  # tensor name ("input", "weight", ...) -> relative error

    @property
    def max_error(self) -> float:
        return max(self.errors.values())

    def passed(self, tolerance: float = TOLERANCE) -> bool:
        return self.max_error < tolerance


ZERO_NORM = 1e-7  # central differences carry about 1e-10 of round-off per entry


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||); where both norms are below ZERO_NORM the gradient is zero
    up to round-off (a bias feeding batch norm), and the absolute difference is returned."""
    difference = float(np.linalg.norm(analytic - numeric))
    if max(np.linalg.norm(analytic), np.linalg.norm(numeric)) < ZERO_NORM:
        return difference
    return difference / float(np.linalg.norm(analytic) + np.linalg.norm(numeric))


def _dropouts(module: Module) -> list[Dropout]:
    if isinstance(module, Dropout):
        return [module]
    return [d for child in getattr(module, "modules", []) for d in _dropouts(child)]


def numeric_gradient(objective, array: np.ndarray, entries: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of objective() w.r.t. the flat `entries` of `array` (changed in place, restored)."""
    flat = array.reshape(-1)
    grads = np.empty(len(entries))
    for k, index in enumerate(entries):
        original = flat[index]
        flat[index] = original + h
        plus = objective()
        flat[index] = original - h
        minus = objective()
        flat[index] = original
        grads[k] = (plus - minus) / (2 * h)
    return grads


def _entries(array: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(array.size) if array.size <= samples else rng.choice(array.size, samples, replace=False)


def check_module(module: Module, x: np.ndarray, name: str = "", samples: int = 60, seed: int = 0) -> GradCheckResult:
    """Check dL/dx and every parameter gradient of `module` (cast to float64) at input x."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own: a probe correlated with x hides errors
    module.astype(np.float64)
    x = x.astype(np.float64)
    probe = rng.standard_normal(module.forward(x).shape)
    # every forward must draw the same dropout masks: restore the generators' state each time
    states = [(d, d.rng.bit_generator.state) for d in _dropouts(module)]

    def objective():
        for dropout, state in states:
            dropout.rng.bit_generator.state = state
        return float(np.sum(module.forward(x) * probe))

    objective()
    input_grad = module.backward(probe)
    analytic = {"input": input_grad, **{k: v.copy() for k, v in module.gradients().items()}}
    errors = {}
    for tensor_name, array in (("input", x), *module.parameters().items()):
        if analytic[tensor_name] is None:
            continue
        entries = _entries(array, samples, rng)
        numeric = numeric_gradient(objective, array, entries)
        errors[tensor_name] = relative_error(analytic[tensor_name].reshape(-1)[entries], numeric)
    return GradCheckResult(name or type(module).__name__, errors)


def check_loss(loss, x: np.ndarray, labels: np.ndarray, name: str = "") -> GradCheckResult:
    x = x.astype(np.float64)
    loss.forward(x, labels)
    analytic = loss.backward()
    numeric = numeric_gradient(lambda: loss.forward(x, labels), x, np.arange(x.size))
    return GradCheckResult(name or type(loss).__name__, {"input": relative_error(analytic.reshape(-1), numeric)})


def check_mlp(model: Sequential, x: np.ndarray, labels: np.ndarray, name: str = "MLP", samples: int = 60,
              seed: int = 0) -> GradCheckResult:
    """Check the whole network under the fused softmax cross-entropy loss."""
    rng = np.random.default_rng([seed, 1])
    model.astype(np.float64)
    x = x.astype(np.float64)
    loss = SoftmaxCrossEntropy()
    states = [(d, d.rng.bit_generator.state) for d in _dropouts(model)]

    def objective():
        for dropout, state in states:
            dropout.rng.bit_generator.state = state
        return loss.forward(model.forward(x), labels)

    objective()
    analytic = {"input": model.backward(loss.backward()), **{k: v.copy() for k, v in model.gradients().items()}}
    errors = {}
    for tensor_name, array in (("input", x), *model.parameters().items()):
        entries = _entries(array, samples, rng)
        errors[tensor_name] = relative_error(analytic[tensor_name].reshape(-1)[entries],
                                             numeric_gradient(objective, array, entries))
    return GradCheckResult(name, errors)


def check_all(batch_size: int = 8, features: int = 12, classes: int = 5, seed: int = 0) -> list[GradCheckResult]:
    """Every module of the engine, in both batch-norm and dropout modes, and two MLPs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, features))
    labels = rng.integers(0, classes, batch_size)
    probs = rng.dirichlet(np.ones(classes), size=batch_size)
    results = [
        check_module(Linear(features, 7, np.random.default_rng(seed)), x, "Linear"),
        check_module(ReLU(), x, "ReLU"),
        check_module(LeakyReLU(0.02), x, "LeakyReLU(0.02)"),
        check_module(Softmax(), x, "Softmax"),
        check_module(BatchNorm1d(features).train(), x * 3 + 1, "BatchNorm1d (train)"),
        check_module(BatchNorm1d(features).eval(), x * 3 + 1, "BatchNorm1d (eval)"),
        check_module(Dropout(0.3, np.random.default_rng(seed)).train(), x, "Dropout(0.3) (train)"),
        check_module(Dropout(0.3, np.random.default_rng(seed)).eval(), x, "Dropout(0.3) (eval)"),
        check_loss(CrossEntropy(), probs, labels, "CrossEntropy"),
        check_loss(SoftmaxCrossEntropy(), x[:, :classes], labels, "SoftmaxCrossEntropy"),
        check_mlp(build_mlp(features, (10,), classes, seed=seed, neg_slope=0.02), x, labels,
                  "MLP (1 hidden, LeakyReLU)"),
        check_mlp(build_mlp(features, (10, 9), classes, seed=seed, activation="relu", batch_norm=True, dropout=0.2),
                  x, labels, "MLP (2 hidden, BN, dropout)"),
    ]
    return results
