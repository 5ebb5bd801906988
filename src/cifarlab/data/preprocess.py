"""Pure functions from uint8 images to the float arrays models consume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cifarlab.data.sources import CifarData
from cifarlab.errors import CifarlabError


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (N, H, W, 3) uint8 images on the [0, 1] scale; each (3,) float32.

    From each channel's histogram of the 256 pixel values: exact float64 sums in one fast
    pass (a float64 copy of the whole training set would be 1.2 GB).
    """
    pixels = images.reshape(-1, images.shape[-1])
    values = np.arange(256, dtype=np.float64)
    mean, std = [], []
    for channel in range(pixels.shape[1]):
        counts = np.bincount(pixels[:, channel], minlength=256).astype(np.float64)
        average = counts @ values / counts.sum()
        mean.append(average)
        std.append(np.sqrt(max(counts @ values**2 / counts.sum() - average**2, 0.0)))
    return (np.array(mean) / 255.0).astype(np.float32), (np.array(std) / 255.0).astype(np.float32)


def standardize(images: np.ndarray, mean: np.ndarray, std: np.ndarray, channel_axis: int = -1) -> np.ndarray:
    """uint8 images -> float32 of the same shape with zero mean, unit std per channel (the
    channel on `channel_axis`): (x / 255 - mean) / std in float32, in place on each channel's
    slice of the output, with no temporaries. (A lookup table with np.take was 3-10x slower:
    it widens the uint8 indices to 8-byte integers first; 2026-11-26, 50,000 images.)"""
    out = np.empty(images.shape, np.float32)
    source, target = np.moveaxis(images, channel_axis, 0), np.moveaxis(out, channel_axis, 0)
    for channel in range(len(mean)):
        values = target[channel]
        values[...] = source[channel]
        np.divide(values, np.float32(255), out=values)
        np.subtract(values, mean[channel], out=values)
        np.divide(values, std[channel], out=values)
    return out


def mean_image(images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The per-pixel mean of (N, H, W, 3) uint8 images on the raw 0-255 scale: (H, W, 3)
    float32, each of the H*W*3 values averaged over the images (float64 sums, chunk by chunk)."""
    total = np.zeros(images.shape[1:])
    for start in range(0, len(images), chunk):
        total += images[start:start + chunk].sum(axis=0, dtype=np.float64)
    return (total / len(images)).astype(np.float32)


def subtract_mean_image(images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 on the raw 0-255 scale minus the mean image in the same layout
    (no division). In place on the one float32 copy: `astype(...) - mean` would hold two
    (1.2 GB at once for the training set: the default NumPy run peaked at 1.62 GB resident)."""
    out = images.astype(np.float32)
    np.subtract(out, mean, out=out)
    return out


PIPELINES = ("standardize", "course")
PIPELINE_HELP = ("input pipeline: standardize (float in [0, 1], minus the per-channel mean, divided by the "
                 "per-channel std, both of the training split) or course (the study's: raw 0-255 floats minus the "
                 "per-pixel mean image of the training split, no scaling; from the course's 2019 code skeleton)")


@dataclass(frozen=True)
class Normalization:
    """How uint8 images become model inputs, with statistics of the training split only.
    standardize: mean, std (3,) on the [0, 1] scale; course: mean (H, W, 3) on 0-255, std None."""

    pipeline: str
    mean: np.ndarray
    std: np.ndarray | None = None

    @classmethod
    def fit(cls, pipeline: str, train_images: np.ndarray) -> Normalization:
        if pipeline == "course":
            return cls(pipeline, mean_image(train_images))
        if pipeline == "standardize":
            return cls(pipeline, *channel_stats(train_images))
        raise CifarlabError(f"unknown pipeline {pipeline!r}: choose one of {PIPELINES}")

    def __call__(self, images: np.ndarray, channels_first: bool = False) -> np.ndarray:
        """uint8 (N, H, W, 3), or (N, 3, H, W) with `channels_first` -> float32 of the same shape."""
        if self.pipeline == "course":
            return subtract_mean_image(images, self.mean.transpose(2, 0, 1) if channels_first else self.mean)
        return standardize(images, self.mean, self.std, channel_axis=1 if channels_first else -1)


def flat_view(images: np.ndarray, normalization: Normalization) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, H*W*C) float32: the MLP's input."""
    return normalization(images).reshape(len(images), -1)


def nchw_view(images: np.ndarray, normalization: Normalization) -> np.ndarray:
    """(N, H, W, C) uint8 -> contiguous (N, C, H, W) float32: the ConvNet's input (the bytes
    are transposed before they become floats: 4x less memory traffic)."""
    return normalization(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), channels_first=True)


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
    normalization: Normalization


VIEWS = {"flat": flat_view, "nchw": nchw_view}


def model_inputs(images: np.ndarray, normalization: Normalization, layout: str) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 inputs in the model's layout ("flat" or "nchw")."""
    if layout not in VIEWS:
        raise CifarlabError(f"unknown layout {layout!r}: choose one of {sorted(VIEWS)}")
    return VIEWS[layout](images, normalization)


def prepare(data: CifarData, layout: str = "flat", val_size: int = 0, seed: int = 0,
            pipeline: str = "standardize") -> PreparedData:
    """Normalise with `pipeline` and training-split statistics (the validation part excluded)
    and shape for `layout` ("flat" for MLPs, "nchw" for ConvNets; model_inputs checks it)."""
    train, val = (data.train_images, data.train_labels), None
    if val_size:
        train, val = hold_out(*train, size=val_size, seed=seed)
    normalization = Normalization.fit(pipeline, train[0])

    def shaped(images, labels):  # labels copied: the cache's arrays are read-only memory maps
        return Split(model_inputs(images, normalization, layout), np.array(labels, dtype=np.int64))

    return PreparedData(
        train=shaped(*train),
        test=shaped(data.test_images, data.test_labels),
        val=shaped(*val) if val is not None else None,
        classes=data.classes, normalization=normalization,
    )
