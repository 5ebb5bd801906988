"""Host-to-GPU copies that do not make Python wait for the GPU.

A GPU runs the kernels Python queues while Python goes on to queue the next step. A
blocking copy from ordinary host memory ends that overlap: PyTorch waits for everything
queued before it. From pinned (page-locked) memory the copy is queued like a kernel.
"""

from __future__ import annotations

import numpy as np
import torch


def to_device_async(tensor: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """`tensor` (on the host) on `device`, queued without waiting where the device is a GPU.
    Meant for the small tensors a step draws on the host (indices, crop offsets): pinning
    takes a host allocation, which torch caches."""
    device = torch.device(device)
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


class DeviceRows:
    """A tensor kept on a GPU whose rows are gathered by host (NumPy) index arrays, with
    the indices sent asynchronously, so cutting a batch does not wait for the GPU."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def __len__(self) -> int:
        return len(self.tensor)

    def __getitem__(self, index: np.ndarray) -> torch.Tensor:
        rows = torch.from_numpy(np.asarray(index, dtype=np.int64))
        return self.tensor.index_select(0, to_device_async(rows, self.tensor.device))
