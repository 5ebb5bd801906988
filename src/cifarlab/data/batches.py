"""Deterministic mini-batch order: a fresh permutation each epoch, drawn from the seed.

The index of any step is a pure function of (seed, step), so a resumed run sees exactly
the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np

from cifarlab.errors import CifarlabError


class BatchSchedule:
    """`schedule(step)` -> int64 indices of that step's batch (drop-last epochs)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        check_batch_size(batch_size, n)
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.steps_per_epoch = n // batch_size
        self._epoch, self._order = -1, None

    def epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def __call__(self, step: int) -> np.ndarray:
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, self.epoch_order(epoch)
        start = position * self.batch_size
        return self._order[start:start + self.batch_size]


def chunks(n: int, size: int):
    """Consecutive index slices covering range(n), for evaluation in large batches."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def check_batch_size(batch_size: int, n: int) -> None:
    if not 1 <= batch_size <= n:
        raise CifarlabError(f"batch size {batch_size} must be between 1 and the training set size {n}")
