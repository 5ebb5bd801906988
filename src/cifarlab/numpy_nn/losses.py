"""Cross-entropy losses, averaged over the batch. Targets are integer labels (B,)."""

from __future__ import annotations

import numpy as np


def one_hot(labels: np.ndarray, classes: int, dtype) -> np.ndarray:
    target = np.zeros((len(labels), classes), dtype=dtype)
    target[np.arange(len(labels)), labels] = 1
    return target


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Stable log softmax of logits: (B, C)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CrossEntropy:
    """L = -1/B sum_b sum_i t_i log x_i on probabilities x: (B, C), as in the study."""

    def forward(self, probs: np.ndarray, labels: np.ndarray) -> float:
        # clip so a probability that underflowed to 0 gives a large, finite loss
        self._probs = np.maximum(probs, np.finfo(probs.dtype).tiny)
        self._target = one_hot(labels, probs.shape[1], probs.dtype)
        return float(-np.sum(self._target * np.log(self._probs)) / len(labels))

    # dL/dx = -t / x, divided by B for the batch mean
    def backward(self) -> np.ndarray:
        return -self._target / self._probs / len(self._target)


class SoftmaxCrossEntropy:
    """Softmax and cross-entropy fused on logits: stable through log-sum-exp."""

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        log_probs = log_softmax(logits)
        self._probs = np.exp(log_probs)
        self._labels = labels
        return float(-log_probs[np.arange(len(labels)), labels].mean())

    # dL/dx~ = (softmax(x~) - t) / B
    def backward(self) -> np.ndarray:
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        return grad / grad.dtype.type(len(self._labels))
