"""Data augmentation as pure functions on whole NCHW tensor batches (no torchvision)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2. images: (B, C, H, W)."""
    flip = torch.rand(images.shape[0], generator=generator, device="cpu").to(images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad by `padding` (reflect) and cut a random HxW window per image. images: (B, C, H, W).

    Done with one gather over a batch of shifted index grids rather than a Python loop.
    """
    if padding == 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4, mode="reflect")
    shifts = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator, device="cpu").to(images.device)
    rows = (torch.arange(height, device=images.device)[None, :] + shifts[0][:, None])  # (B, H)
    cols = (torch.arange(width, device=images.device)[None, :] + shifts[1][:, None])  # (B, W)
    batch_index = torch.arange(batch, device=images.device)[:, None, None, None]
    channel_index = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def flip_and_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return random_crop(random_flip(images, generator), padding, generator)


def mirror_half(images: torch.Tensor, seed: int) -> torch.Tensor:
    """A copy of (N, C, H, W) images with a random half of them (drawn from `seed`) mirrored:
    the starting point of alternating flips, which then mirror whole batches in odd epochs,
    so that every image is seen both ways in every two epochs."""
    return random_flip(images, torch.Generator().manual_seed(seed))
