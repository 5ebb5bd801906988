"""The study's VGG-like ConvNet (SPEC.md part 4)."""

from __future__ import annotations

from torch import nn

from cifarlab.torch_nn.batchnorm import BATCH_NORMS_2D

# Output channels of each 3x3 conv; "pool" is a 3x3 max-pool with stride 2 and padding 1,
# which halves 32 -> 16 -> 8 -> 4 -> 2 -> 1.
STUDY_LAYOUT = (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool", 512, 512, "pool")


def conv_block(c_in: int, c_out: int, batch_norm: str) -> nn.Sequential:
    """3x3 conv (stride 1, padding 1) -> batch norm -> ReLU. The conv keeps torch's default bias,
    as in the study's network, although batch norm cancels it."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), BATCH_NORMS_2D[batch_norm](c_out),
                         nn.ReLU(inplace=True))


class ConvNet(nn.Module):
    """x: (B, 3, 32, 32) float32 -> logits (B, classes)."""

    def __init__(self, n_out: int = 10, batch_norm: str = "torch", layout=STUDY_LAYOUT):
        super().__init__()
        if batch_norm not in BATCH_NORMS_2D:
            raise ValueError(f"unknown batch norm {batch_norm!r}: use one of {sorted(BATCH_NORMS_2D)}")
        blocks, channels = [], 3
        for item in layout:
            if item == "pool":
                blocks.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            else:
                blocks.append(conv_block(channels, item, batch_norm))
                channels = item
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(channels, n_out)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
