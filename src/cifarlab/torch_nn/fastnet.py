"""A fast modern ConvNet for CIFAR-10, after the published airbench recipe (facts only).

Layout: a frozen 2x2 "whitening" conv (24 channels: the 12 patch eigenvectors of the
training images, scaled by 1/sqrt(eigenvalue), and their negatives) -> GELU -> three blocks
[3x3 conv -> 2x2 max-pool -> BN -> GELU -> 3x3 conv -> BN -> GELU] of widths 64, 256,
256 -> global max-pool -> linear -> x 1/9. 32x32 input: 31 -> 15 -> 7 -> 3 -> 1.

What makes it train in few epochs, besides the whitening: batch norms whose scale is fixed
at 1 (only the shift learns, at a larger learning rate: see training/fastnet/recipe.py), convs that
start as identity maps on their first channels (an implicit residual path), and small
output logits (the 1/9) that let the recipe use a large learning rate.
"""

from __future__ import annotations

import torch
from torch import nn

from cifarlab.torch_nn.small_map_conv import SmallMapConv2d

WHITENING_EPS = 5e-4  # keeps near-zero eigenvalues of the patch covariance from exploding
LOGIT_SCALE = 1 / 9
BN_MOMENTUM = 0.4  # torch's convention: the weight of the newest batch in the running stats


def shift_only_batchnorm(channels: int) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(channels, eps=1e-12, momentum=BN_MOMENTUM)
    norm.weight.requires_grad_(False)  # stays 1: the next conv's weights carry the scale
    return norm


def identity_start_conv(c_in: int, c_out: int) -> nn.Conv2d:
    """3x3 conv whose first min(c_in, c_out) filters start as the identity on their channel
    (a plain nn.Conv2d whose backward is faster on the small maps of the last blocks: small_map_conv.py)."""
    conv = SmallMapConv2d(c_in, c_out)
    with torch.no_grad():
        n = min(c_in, c_out)
        nn.init.dirac_(conv.weight[:n])
    return conv


ACTIVATIONS = {"gelu": nn.GELU, "silu": nn.SiLU}


class FastBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, activation: str = "gelu"):
        act = ACTIVATIONS[activation]
        super().__init__(identity_start_conv(c_in, c_out), nn.MaxPool2d(2), shift_only_batchnorm(c_out), act(),
                         identity_start_conv(c_out, c_out), shift_only_batchnorm(c_out), act())


class FastNet(nn.Module):
    """x: (B, 3, 32, 32) float32 -> logits (B, classes). Call `init_whitening` before training."""

    def __init__(self, n_out: int = 10, widths: tuple[int, int, int] = (64, 256, 256), activation: str = "gelu"):
        super().__init__()
        self.whiten = nn.Conv2d(3, 24, kernel_size=2, bias=True)
        self.whiten.weight.requires_grad_(False)  # fixed by the data; its bias learns (for a while)
        nn.init.zeros_(self.whiten.bias)
        self.register_buffer("whitened", torch.tensor(False))
        blocks, channels = [], 24
        for width in widths:
            blocks.append(FastBlock(channels, width, activation))
            channels = width
        self.blocks = nn.Sequential(ACTIVATIONS[activation](), *blocks)
        self.head = nn.Linear(channels, n_out, bias=False)

    @torch.no_grad()
    def init_whitening(self, images: torch.Tensor) -> None:
        """Set the first conv from the 2x2 patches of `images` (B, 3, 32, 32): its outputs then
        have (nearly) identity covariance, which lets the blocks learn faster."""
        patches = images.float().unfold(2, 2, 1).unfold(3, 2, 1)  # (B, 3, 31, 31, 2, 2)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 12).double()
        patches = patches - patches.mean(dim=0)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
        filters = (eigenvectors.T / torch.sqrt(eigenvalues + WHITENING_EPS)[:, None]).reshape(12, 3, 2, 2)
        self.whiten.weight.copy_(torch.cat([filters, -filters]).to(self.whiten.weight))
        self.whitened.fill_(True)

    def forward(self, x):
        features = self.blocks(self.whiten(x))
        return self.head(torch.amax(features, dim=(2, 3))) * LOGIT_SCALE
