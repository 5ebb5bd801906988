"""The base of the NumPy engine: a module with named parameters and gradients.

Every module works on whole mini-batches x: (B, n). `forward` caches what `backward`
needs; `backward(grad)` takes dL/d(output) and returns dL/d(input), filling `grads`.
"""

from __future__ import annotations

import numpy as np


class Module:
    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    __call__ = forward

    def parameters(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def gradients(self) -> dict[str, np.ndarray]:
        return dict(self.grads)

    def buffers(self) -> dict[str, np.ndarray]:
        """State saved with the model but not trained (e.g. batch-norm running stats)."""
        return {}

    def train(self, mode: bool = True) -> "Module":
        self.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def astype(self, dtype) -> "Module":
        """Cast parameters and buffers in place (float64 for gradient checks)."""
        for store in (self.params, self.buffers()):
            for name, value in store.items():
                store[name] = value.astype(dtype)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        return self
