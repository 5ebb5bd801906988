"""Inverted dropout: zero a fraction p of units in training and scale the rest by 1/(1-p)."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.module import Module


class Dropout(Module):
    def __init__(self, p: float, rng: np.random.Generator):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    # dx = g * mask / (1 - p), the same mask as the forward pass
    def backward(self, grad):
        return grad if self._mask is None else grad * self._mask
