"""The PyTorch MLP: the NumPy engine's network, with optional batch norm and dropout."""

from __future__ import annotations

import torch
from torch import nn

from cifarlab.numpy_nn.linear import COURSE_STD, INIT_SCHEMES
from cifarlab.torch_nn.batchnorm import BATCH_NORMS_1D


@torch.no_grad()
def init_linear_(layer: nn.Linear, scheme: str, neg_slope: float = 0.0) -> None:
    """Draw a layer's parameters from the same distributions as the NumPy engine
    (numpy_nn.linear.initial_parameters), from torch's global generator."""
    n_in = layer.in_features
    if scheme in ("course", "he"):
        std = COURSE_STD if scheme == "course" else (2.0 / ((1.0 + neg_slope**2) * n_in)) ** 0.5
        nn.init.normal_(layer.weight, 0.0, std)
        nn.init.zeros_(layer.bias)
    elif scheme != "torch":  # torch: nn.Linear drew U(-1/sqrt(n_in), 1/sqrt(n_in)) when it was built
        raise ValueError(f"unknown init {scheme!r}: use one of {INIT_SCHEMES}")


class MLP(nn.Module):
    """x: (B, 3072) or images (B, 3, 32, 32) float32 -> logits (B, classes).

    Taking images lets the trainer augment them (crop, flip) before the MLP flattens them.

    Per hidden size: Linear -> (batch norm) -> ReLU/LeakyReLU -> (dropout). Layer names
    follow the NumPy engine's Sequential ('net.0.weight' ~ '0.weight'), and so do the init
    schemes (`init`: "course", "he" or "torch", see init_linear_).
    """

    def __init__(self, n_in: int = 3072, hidden: tuple[int, ...] = (100,), n_out: int = 10, *,
                 activation: str = "leaky_relu", neg_slope: float = 0.02, batch_norm: str = "none",
                 dropout: float = 0.0, init: str = "torch"):
        super().__init__()
        if batch_norm != "none" and batch_norm not in BATCH_NORMS_1D:
            raise ValueError(f"unknown batch norm {batch_norm!r}: use none or one of {sorted(BATCH_NORMS_1D)}")
        slope = neg_slope if activation == "leaky_relu" else 0.0
        layers: list[nn.Module] = []
        sizes = (n_in, *hidden)
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(fan_in, fan_out))
            init_linear_(layers[-1], init, slope)
            if batch_norm != "none":
                layers.append(BATCH_NORMS_1D[batch_norm](fan_out))
            layers.append(nn.LeakyReLU(neg_slope) if activation == "leaky_relu" else nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-1], n_out))
        init_linear_(layers[-1], init)
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x.flatten(1))
