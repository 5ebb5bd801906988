"""Fully connected layer: x~ = x W^T + b for a batch x: (B, n_in)."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.module import Module


INIT_SCHEMES = ("course", "he", "torch")
COURSE_STD = 1e-4  # the course skeleton's NumPy Linear: N(0, 1e-4^2) weights, zero biases


def initial_parameters(scheme: str, n_in: int, n_out: int, rng: np.random.Generator, neg_slope: float = 0.0):
    """(weight (n_out, n_in), bias (n_out,)) float64 drawn for an init scheme (the torch MLP
    draws from the same distributions):
    course: weight ~ N(0, 1e-4^2), bias 0 (the study's: tiny, so the first steps are nearly linear);
    he:    weight ~ N(0, 2 / ((1 + neg_slope^2) n_in)), bias 0 (keeps the activations' variance);
    torch: weight, bias ~ U(-1/sqrt(n_in), 1/sqrt(n_in)), torch.nn.Linear's default."""
    if scheme in ("course", "he"):
        std = COURSE_STD if scheme == "course" else np.sqrt(2.0 / ((1.0 + neg_slope**2) * n_in))
        return rng.standard_normal((n_out, n_in)) * std, np.zeros(n_out)
    if scheme == "torch":
        bound = 1.0 / np.sqrt(n_in)
        return rng.uniform(-bound, bound, (n_out, n_in)), rng.uniform(-bound, bound, n_out)
    raise ValueError(f"unknown init {scheme!r}: use one of {INIT_SCHEMES}")


class Linear(Module):
    """weight: (n_out, n_in); bias: (n_out,), drawn by `initial_parameters` (He by default).

    `input_grad=False` skips dL/dx for a first layer whose input is the data, as torch
    does for inputs that need no gradient (a third of that layer's backward cost).
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, neg_slope: float = 0.0,
                 input_grad: bool = True, dtype=np.float32, init: str = "he"):
        super().__init__()
        weight, bias = initial_parameters(init, n_in, n_out, rng, neg_slope)
        self.params = {"weight": weight.astype(dtype), "bias": bias.astype(dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.input_grad = input_grad
        self._x = None

    def forward(self, x):
        self._x = x
        return x @ self.params["weight"].T + self.params["bias"]

    # dL/dW = (dL/dx~)^T x (summed over the batch); dL/db = column sums; dL/dx = dL/dx~ W
    def backward(self, grad):
        np.matmul(grad.T, self._x, out=self.grads["weight"])
        np.sum(grad, axis=0, out=self.grads["bias"])
        return grad @ self.params["weight"] if self.input_grad else None
