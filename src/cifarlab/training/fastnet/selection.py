"""Training on each batch's hardest images only (fastnet's --skip-easiest).

Late in a run most images are already classified with a small loss, and a step spends as much
on them as on the ones still wrong. From a chosen epoch on, each scheduled batch leaves out the
share of its images whose loss was lowest when they were last trained on; a step costs that
share less, the step count and schedules stay as they are. The losses are the ones the
training step computes anyway (no extra pass), so they are one epoch old. An image left out
once is trained the next time its batch comes, so no image is dropped for good.
"""

from __future__ import annotations

import numpy as np
import torch


def hardest(batch: np.ndarray, last_losses: np.ndarray, keep_share: float) -> np.ndarray:
    """The round(keep_share x len(batch)) images of `batch` (indices into the training set) with
    the highest `last_losses`, in their order within the batch (ties: the earlier one kept)."""
    count = max(1, round(keep_share * len(batch)))
    highest_first = np.argsort(-last_losses[batch], kind="stable")
    return batch[np.sort(highest_first[:count])]


class LastLosses:
    """Each training image's loss when it was last trained on (infinite: not trained yet, or left
    out the last time, which keeps it in the next time)."""

    def __init__(self, n_images: int):
        self.values = np.full(n_images, np.inf, dtype=np.float32)

    def choose(self, batch: np.ndarray, keep_share: float) -> np.ndarray:
        kept = hardest(batch, self.values, keep_share)
        self.values[np.setdiff1d(batch, kept)] = np.inf
        return kept

    def record(self, images: np.ndarray, losses: np.ndarray) -> None:
        self.values[images] = losses

    def state_dict(self) -> dict:
        return {"last_losses": torch.from_numpy(self.values.copy())}  # a tensor: checkpoints load weights_only

    def load_state_dict(self, state: dict) -> None:
        self.values = state["last_losses"].cpu().numpy().astype(np.float32, copy=True)
