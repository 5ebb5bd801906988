"""Pure functions from uint8 images to the float arrays models consume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cifarlab.data.sources import CifarData
from cifarlab.errors import CifarlabError


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) uint8 -> float32 in [0, 1]."""
    return images.astype(np.float32) / np.float32(255.0)


def channel_stats(images: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (N, H, W, 3) uint8 images on the [0, 1] scale; each (3,) float32.

    Accumulates float64 sums chunk by chunk: a float64 copy of the whole training set
    would be 1.2 GB.
    """
    channels = images.shape[-1]
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    for start in range(0, len(images), chunk):
        pixels = images[start:start + chunk].reshape(-1, channels).astype(np.float64)
        total += pixels.sum(axis=0)
        squares += np.square(pixels).sum(axis=0)
        count += len(pixels)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return (mean / 255.0).astype(np.float32), (std / 255.0).astype(np.float32)


def standardize(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, H, W, 3) with zero mean, unit std per channel."""
    return (to_unit_float(images) - mean) / std


def flat_view(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N, H*W*C): the MLP's input."""
    return images.reshape(len(images), -1)


def nchw_view(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> contiguous (N, C, H, W): the ConvNet's input."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def hold_out(images: np.ndarray, labels: np.ndarray, size: int, seed: int):
    """Split off `size` examples chosen with `seed`; returns (kept, held_out) pairs."""
    if not 0 <= size < len(labels):
        raise CifarlabError(f"validation size {size} must be between 0 and {len(labels) - 1}")
    order = np.random.default_rng(seed).permutation(len(labels))
    held, kept = np.sort(order[:size]), np.sort(order[size:])
    return (images[kept], labels[kept]), (images[held], labels[held])


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # float32, (N, 3072) flat or (N, 3, 32, 32) NCHW
    y: np.ndarray  # int64 (N,)


@dataclass(frozen=True)
class PreparedData:
    train: Split
    test: Split
    val: Split | None
    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray


def prepare(data: CifarData, layout: str = "flat", val_size: int = 0, seed: int = 0) -> PreparedData:
    """Standardise with training-split statistics (the validation part excluded) and shape
    for `layout` ("flat" for MLPs, "nchw" for ConvNets)."""
    views = {"flat": flat_view, "nchw": nchw_view}
    if layout not in views:
        raise CifarlabError(f"unknown layout {layout!r}: choose one of {sorted(views)}")
    train, val = (data.train_images, data.train_labels), None
    if val_size:
        train, val = hold_out(*train, size=val_size, seed=seed)
    mean, std = channel_stats(train[0])

    def shaped(images, labels):  # labels copied: the cache's arrays are read-only memory maps
        return Split(views[layout](standardize(images, mean, std)), np.array(labels, dtype=np.int64))

    return PreparedData(
        train=shaped(*train),
        test=shaped(data.test_images, data.test_labels),
        val=shaped(*val) if val is not None else None,
        classes=data.classes, mean=mean, std=std,
    )
