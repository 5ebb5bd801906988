"""Element-wise activations and the row-wise softmax."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.module import Module


class ReLU(Module):
    def forward(self, x):
        self._positive = x > 0
        return np.where(self._positive, x, 0).astype(x.dtype, copy=False)

    # dx/dx~ = 1{x~ > 0}
    def backward(self, grad):
        return grad * self._positive


class LeakyReLU(Module):
    def __init__(self, neg_slope: float = 0.01):
        super().__init__()
        self.neg_slope = neg_slope

    def forward(self, x):
        self._positive = x > 0
        return np.where(self._positive, x, x * x.dtype.type(self.neg_slope))

    # dx/dx~ = 1{x~ > 0} + alpha 1{x~ <= 0}
    def backward(self, grad):
        return np.where(self._positive, grad, grad * grad.dtype.type(self.neg_slope))


class Softmax(Module):
    """Row-wise softmax; subtracting the row maximum keeps exp() from overflowing."""

    def forward(self, x):
        shifted = np.exp(x - x.max(axis=1, keepdims=True))
        self._y = shifted / shifted.sum(axis=1, keepdims=True)
        return self._y

    # d softmax/dx~ = diag(y) - y y^T, applied row by row: y * (g - <g, y>)
    def backward(self, grad):
        y = self._y
        return y * (grad - np.sum(grad * y, axis=1, keepdims=True))
