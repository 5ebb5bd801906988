"""Data augmentation as pure functions on whole NCHW tensor batches (no torchvision).

Random draws come from a host generator, so a seed gives the same images on every device."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cifarlab.data.transfer import to_device_async


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2. images: (B, C, H, W)."""
    flip = to_device_async(torch.rand(images.shape[0], generator=generator, device="cpu"), images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                size: int | None = None) -> torch.Tensor:
    """Pad by `padding` (reflect) and cut a random window per image: HxW, or size x size when
    `size` is given (a smaller window is a cheaper training image). images: (B, C, H, W).

    Done with one gather over a batch of shifted index grids rather than a Python loop.
    """
    batch, _, height, width = images.shape
    if size is not None and (height != width or size > height):
        raise ValueError(f"a {size}x{size} crop needs square images of at least that size, got {height}x{width}")
    if padding == 0 and size is None:
        return images
    out_height, out_width = (height, width) if size is None else (size, size)
    padded = F.pad(images, (padding,) * 4, mode="reflect") if padding else images
    span = height + 2 * padding - out_height + 1  # the same across, as the images are square or uncropped
    shifts = to_device_async(torch.randint(0, span, (2, batch), generator=generator, device="cpu"), images.device)
    rows = torch.arange(out_height, device=images.device)[None, :] + shifts[0][:, None]  # (B, out_height)
    cols = torch.arange(out_width, device=images.device)[None, :] + shifts[1][:, None]  # (B, out_width)
    batch_index = torch.arange(batch, device=images.device)[:, None, None, None]
    channel_index = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]


def flip_and_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                  size: int | None = None) -> torch.Tensor:
    return random_crop(random_flip(images, generator), padding, generator, size)


def colour_jitter(images: torch.Tensor, brightness: float, contrast: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness and contrast per image, on standardised (N, C, H, W) images: add an
    offset drawn uniformly from [-brightness, brightness] (in units of the channels' standard
    deviation) to all channels, then scale each image about its own mean by a factor from
    [1 - contrast, 1 + contrast]. Both 0: the images unchanged."""
    if not brightness and not contrast:
        return images
    draws = torch.rand(2, images.shape[0], generator=generator, device="cpu") * 2 - 1  # both in [-1, 1)
    offset, factor = to_device_async(draws, images.device)[:, :, None, None, None].to(images.dtype)
    means = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - means) * (1 + contrast * factor) + means + brightness * offset


def mirror_half(images: torch.Tensor, seed: int) -> torch.Tensor:
    """A copy of (N, C, H, W) images with a random half of them (drawn from `seed`) mirrored:
    the starting point of alternating flips, which then mirror whole batches in odd epochs,
    so that every image is seen both ways in every two epochs."""
    return random_flip(images, torch.Generator().manual_seed(seed))
