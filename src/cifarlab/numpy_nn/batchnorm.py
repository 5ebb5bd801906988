"""Batch normalisation for (B, n) inputs with a hand-written backward."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.module import Module


class BatchNorm1d(Module):
    """y = gamma * xhat + beta, xhat = (x - mean) / sqrt(var + eps).

    Training mode normalises with the batch statistics and updates the running ones
    (torch's convention: running = (1 - momentum) running + momentum batch, unbiased
    variance); eval mode normalises with the running statistics.
    """

    def __init__(self, n: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float32):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.params = {"gamma": np.ones(n, dtype=dtype), "beta": np.zeros(n, dtype=dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.running = {"running_mean": np.zeros(n, dtype=dtype), "running_var": np.ones(n, dtype=dtype)}

    def buffers(self):
        return self.running

    def forward(self, x):
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            batch = len(x)
            m = self.momentum
            self.running["running_mean"] = ((1 - m) * self.running["running_mean"] + m * mean).astype(x.dtype)
            unbiased = var * batch / max(batch - 1, 1)
            self.running["running_var"] = ((1 - m) * self.running["running_var"] + m * unbiased).astype(x.dtype)
        else:
            mean, var = self.running["running_mean"], self.running["running_var"]
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self._xhat = (x - mean) * self._inv_std
        return self.params["gamma"] * self._xhat + self.params["beta"]

    # dgamma = sum_s g^s xhat^s; dbeta = sum_s g^s;
    # training: dx^r = gamma / (B sqrt(var + eps)) (B g^r - dbeta - xhat^r dgamma); eval: dx = g gamma / sqrt(var + eps)
    def backward(self, grad):
        self.grads["gamma"] = np.sum(grad * self._xhat, axis=0)
        self.grads["beta"] = np.sum(grad, axis=0)
        scale = self.params["gamma"] * self._inv_std
        if not self.training:
            return grad * scale
        batch = len(grad)
        return scale / batch * (batch * grad - self.grads["beta"] - self._xhat * self.grads["gamma"])
