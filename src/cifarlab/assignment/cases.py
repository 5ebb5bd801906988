"""The inputs every check feeds a student's code: public cases (also shipped in the student
folder) and hidden ones (other shapes, other seeds, edge cases) that only the grader uses.

A case is a dict of arrays; all cases of a run go into one .npz with keys "task/case/name".
Case names say what the case is, since feedback quotes them.
"""

from __future__ import annotations

import functools

import numpy as np

from cifarlab.assignment.probe_tasks import CONV_BIAS, CONV_WEIGHT, LINEAR_BIAS, LINEAR_WEIGHT, NORM_BIAS, NORM_WEIGHT

PUBLIC_SEED = 2019  # the course's year; hidden cases use the grader's --seed


def _away_from_zero(rng, shape, scale=1.0):
    """Normal values with |x| >= 0.05: the LeakyReLU's kink at 0 is left out of every check."""
    values = rng.standard_normal(shape) * scale
    return np.where(np.abs(values) < 0.05, 0.05 + np.abs(values), values)


def _one_hot(rng, batch, classes):
    return np.eye(classes)[rng.integers(0, classes, batch)]


def linear(rng, batch, n_in, n_out):
    return {"x": rng.standard_normal((batch, n_in)), "W": rng.standard_normal((n_out, n_in)),
            "b": rng.standard_normal(n_out), "dout": rng.standard_normal((batch, n_out))}


def leaky_relu(rng, batch, n, slope):
    return {"x": _away_from_zero(rng, (batch, n)), "dout": rng.standard_normal((batch, n)), "slope": np.asarray(slope)}


def softmax(rng, batch, n, offset=0.0, scale=2.0):
    return {"x": offset + scale * rng.standard_normal((batch, n)), "dout": rng.standard_normal((batch, n))}


def cross_entropy(rng, batch, n):
    return {"x": rng.dirichlet(np.ones(n), batch), "y": _one_hot(rng, batch, n)}


def softmax_cross_entropy(rng, batch, n, scale=2.0):
    return {"x": scale * rng.standard_normal((batch, n)), "y": _one_hot(rng, batch, n)}


def _network(rng, sizes, scale=0.5):
    arrays = {}
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        arrays[f"W_{index}"] = rng.standard_normal((fan_out, fan_in)) * scale
        arrays[f"b_{index}"] = rng.standard_normal(fan_out) * scale
    shapes = [arrays[f"W_{index}"].shape for index in range(len(sizes) - 1)]
    all_shapes = shapes + [shape[::-1] for shape in shapes]
    assert len(set(all_shapes)) == len(all_shapes), f"layer sizes {sizes} leave a weight's layout ambiguous"
    return arrays


def mlp(rng, batch, sizes, slope):
    return {"x": rng.standard_normal((batch, sizes[0])), **_network(rng, sizes),
            "dout": rng.standard_normal((batch, sizes[-1])), "slope": np.asarray(slope)}


def sgd_step(rng, sizes, lr, slope=0.02):
    network = _network(rng, sizes)
    gradients = {("g" + name): rng.standard_normal(value.shape) for name, value in network.items()}
    return {**network, **gradients, "lr": np.asarray(lr), "slope": np.asarray(slope)}


def accuracy(rng, batch, classes):
    return {"predictions": rng.random((batch, classes)), "targets": _one_hot(rng, batch, classes)}


def batchnorm(rng, batch, n, dtype=np.float64, input_needs_grad=True, shift=3.0, scale=5.0):
    arrays = {"x": shift + scale * rng.standard_normal((batch, n)), "gamma": 1 + 0.5 * rng.standard_normal(n),
              "beta": rng.standard_normal(n), "dout": rng.standard_normal((batch, n))}
    arrays = {name: value.astype(dtype) for name, value in arrays.items()}
    return {**arrays, "input_needs_grad": np.asarray(input_needs_grad)}


@functools.cache  # built once per process, for the public and the hidden case alike
def convnet_layout() -> tuple[np.ndarray, np.ndarray]:
    """(shapes (K, 4) zero-padded, roles (K,)) of the study's ConvNet's parameters, in order,
    read off cifarlab's own ConvNet."""
    from torch import nn

    from cifarlab.torch_nn.convnet import ConvNet

    roles_of = {nn.Conv2d: (CONV_WEIGHT, CONV_BIAS), nn.BatchNorm2d: (NORM_WEIGHT, NORM_BIAS),
                nn.Linear: (LINEAR_WEIGHT, LINEAR_BIAS)}
    shapes, roles = [], []
    for module in ConvNet(10).modules():
        if type(module) in roles_of:
            for role, parameter in zip(roles_of[type(module)], (module.weight, module.bias)):
                shapes.append(list(parameter.shape) + [0] * (4 - parameter.dim()))
                roles.append(role)
    return np.asarray(shapes), np.asarray(roles)


def convnet(rng, batch):
    shapes, roles = convnet_layout()
    return {"x": rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), "seed": np.asarray(rng.integers(2**31)),
            "shapes": shapes, "roles": roles}


# Each task's cases, drawn from a random stream of its own (see build_cases), so that the inputs
# of one task never depend on which other tasks are asked for.
PUBLIC = {
    "linear": lambda rng: {"batch 4, 5 in, 3 out": linear(rng, 4, 5, 3)},
    "leaky_relu": lambda rng: {"slope 0.02": leaky_relu(rng, 4, 6, 0.02)},
    "softmax": lambda rng: {"batch 4, 6 classes": softmax(rng, 4, 6)},
    "cross_entropy": lambda rng: {"batch 4, 6 classes": cross_entropy(rng, 4, 6)},
    "softmax_cross_entropy": lambda rng: {"batch 4, 6 classes": softmax_cross_entropy(rng, 4, 6)},
    "mlp_numpy": lambda rng: {"7-6-4, slope 0.02": mlp(rng, 5, (7, 6, 4), 0.02)},
    "sgd_step": lambda rng: {"7-6-4, lr 0.1": sgd_step(rng, (7, 6, 4), 0.1)},
    "accuracy": lambda rng: {"batch 10, 4 classes": accuracy(rng, 10, 4)},
    "mlp_pytorch": lambda rng: {"7-6-4, slope 0.02": mlp(rng, 5, (7, 6, 4), 0.02)},
    "batchnorm_autograd": lambda rng: {"batch 6, 4 neurons": batchnorm(rng, 6, 4)},
    "batchnorm_function": lambda rng: {"batch 6, 4 neurons": batchnorm(rng, 6, 4)},
    "batchnorm_module": lambda rng: {"batch 6, 4 neurons": batchnorm(rng, 6, 4)},
    "convnet": lambda rng: {"batch 2": convnet(rng, 2)},
}

HIDDEN = {
    "linear": lambda rng: {"batch 7, 3 in, 6 out": linear(rng, 7, 3, 6),
                           "batch 1, 9 in, 2 out": linear(rng, 1, 9, 2)},
    "leaky_relu": lambda rng: {"slope 0.3": leaky_relu(rng, 5, 3, 0.3),
                               "slope 0 (ReLU)": leaky_relu(rng, 3, 8, 0.0)},
    "softmax": lambda rng: {"logits near 1000": softmax(rng, 3, 10, offset=1000.0, scale=30.0),
                            "batch 5, 2 classes": softmax(rng, 5, 2)},
    "cross_entropy": lambda rng: {"batch 9, 3 classes": cross_entropy(rng, 9, 3)},
    "softmax_cross_entropy": lambda rng: {"logits of size 1000": softmax_cross_entropy(rng, 4, 10, scale=1000.0),
                                          "batch 6, 3 classes": softmax_cross_entropy(rng, 6, 3)},
    "mlp_numpy": lambda rng: {"5-3 (no hidden layer)": mlp(rng, 4, (5, 3), 0.02),
                              "9-8-6-4, slope 0.1": mlp(rng, 6, (9, 8, 6, 4), 0.1)},
    "sgd_step": lambda rng: {"9-8-6-4, lr 0.003": sgd_step(rng, (9, 8, 6, 4), 0.003)},
    "accuracy": lambda rng: {"batch 25, 10 classes": accuracy(rng, 25, 10)},
    "mlp_pytorch": lambda rng: {"9-8-6-4, slope 0.1": mlp(rng, 6, (9, 8, 6, 4), 0.1)},
    "batchnorm_autograd": lambda rng: {"batch 16, 3 neurons": batchnorm(rng, 16, 3, shift=-2.0, scale=0.1),
                                       "float32": batchnorm(rng, 8, 5, np.float32)},
    "batchnorm_function": lambda rng: {"batch 16, 3 neurons": batchnorm(rng, 16, 3, shift=-2.0, scale=0.1),
                                       "float32": batchnorm(rng, 8, 5, np.float32),
                                       "input needs no gradient": batchnorm(rng, 6, 4, input_needs_grad=False)},
    "batchnorm_module": lambda rng: {"float32": batchnorm(rng, 8, 5, np.float32)},
    "convnet": lambda rng: {"another batch of 2": convnet(rng, 2)},
}


def build_cases(tasks, hidden_seed: int | None = None) -> dict[str, np.ndarray]:
    """Inputs of `tasks` (ids) as one flat dict "task/case/name" -> array: the public cases,
    plus the hidden cases drawn from `hidden_seed` when it is given."""
    groups = [(PUBLIC, [PUBLIC_SEED])] + ([(HIDDEN, [PUBLIC_SEED, hidden_seed])] if hidden_seed is not None else [])
    flat = {}
    for table, seed in groups:
        for task in tasks:
            for case, arrays in table[task](np.random.default_rng([*seed, *task.encode()])).items():
                flat.update({f"{task}/{case}/{name}": value for name, value in arrays.items()})
    return flat
