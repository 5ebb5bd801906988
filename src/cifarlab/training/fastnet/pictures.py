"""What fastnet's first layers look like, for `cifarlab evaluate --show` (report/pictures.py
draws the tiles; FastNetLearner.layer_pictures hands them over).

fastnet's first layer is its fixed whitening convolution: the 2x2 patches are the eigenvectors
of the training images' patch covariance, scaled by 1/sqrt(eigenvalue), so they show what
whitening amplifies. Its first trained convolution reads the 24 whitened channels; composed with
the whitening it is a 4x4 colour filter (its linear part: the GELU between the two taken as
linear), drawn as the image patch it responds to most (the filter times the patches' covariance).
"""

from __future__ import annotations

import numpy as np
import torch


def whitening_patches(fastnet) -> np.ndarray:
    """The whitening layer's 2x2 patches, (12, 2, 2, 3): the other 12 are their negatives."""
    return fastnet.whiten.weight.detach().cpu().numpy()[:12].transpose(0, 2, 3, 1)


def filters_through_whitening(fastnet) -> np.ndarray:
    """fastnet's first trained 3x3 convolution (over the whitened channels) composed with the 2x2
    whitening convolution: (filters, 4, 4, 3). A 4x4 valid convolution with these equals the two
    valid convolutions in a row, without biases and with the GELU between them left out."""
    whiten = fastnet.whiten.weight.detach().double().cpu().numpy()  # (24, 3, 2, 2)
    first = next(m for m in fastnet.blocks.modules() if isinstance(m, torch.nn.Conv2d))
    weights = first.weight.detach().double().cpu().numpy()  # (filters, 24, 3, 3)
    composed = np.zeros((len(weights), whiten.shape[1], 4, 4))
    for row, column in np.ndindex(3, 3):
        for down, right in np.ndindex(2, 2):  # input pixel (row + down, column + right) of the 4x4 window
            composed[:, :, row + down, column + right] += weights[:, :, row, column] @ whiten[:, :, down, right]
    return composed.transpose(0, 2, 3, 1)


def preferred_patches(filters: np.ndarray, images: np.ndarray, count: int = 500) -> np.ndarray:
    """For each (h, w, 3) filter, the image patch it responds to most among patches of the same
    power as the images': the filter times the patches' covariance (from `count` of `images`,
    (N, 3, H, W) as the network sees them). The weights themselves look like colour noise: the
    whitening before them amplifies exactly the rare, high-frequency patterns."""
    size = filters.shape[1]
    chosen = images[:count]
    windows = np.lib.stride_tricks.sliding_window_view(chosen, (size, size), axis=(2, 3))[:, :, ::2, ::2]
    patches = windows.transpose(0, 2, 3, 4, 5, 1).reshape(-1, size * size * 3)  # (patches, h*w*3), (h, w, c) order
    covariance = np.cov(patches.astype(np.float64), rowvar=False)
    return (filters.reshape(len(filters), -1) @ covariance).reshape(filters.shape)
