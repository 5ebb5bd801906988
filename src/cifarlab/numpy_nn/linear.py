"""Fully connected layer: x~ = x W^T + b for a batch x: (B, n_in)."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.module import Module


class Linear(Module):
    """weight: (n_out, n_in), He-initialised for (leaky) ReLU; bias: (n_out,) zeros.

    `input_grad=False` skips dL/dx for a first layer whose input is the data, as torch
    does for inputs that need no gradient (a third of that layer's backward cost).
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, neg_slope: float = 0.0,
                 input_grad: bool = True, dtype=np.float32):
        super().__init__()
        std = np.sqrt(2.0 / ((1.0 + neg_slope**2) * n_in))  # Kaiming He: keeps activation variance
        self.params = {"weight": (rng.standard_normal((n_out, n_in)) * std).astype(dtype),
                       "bias": np.zeros(n_out, dtype=dtype)}
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
