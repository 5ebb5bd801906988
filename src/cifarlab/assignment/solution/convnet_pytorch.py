"""The VGG-like ConvNet of the study."""

import torch.nn as nn


class ConvNet(nn.Module):
    """conv64 - pool - conv128 - pool - conv256 - conv256 - pool - conv512 - conv512 - pool -
    conv512 - conv512 - pool - linear(512 -> n_classes).

    Every conv: 3x3, stride 1, padding 1, followed by BatchNorm2d and ReLU. Every pool:
    3x3 max-pooling, stride 2, padding 1 (32 -> 16 -> 8 -> 4 -> 2 -> 1 pixels).
    """

    def __init__(self, n_channels, n_classes):
        """
        n_channels: input channels (3 for colour images); n_classes: outputs.

        TODO: build the network.
        """
        super().__init__()
        # PUT YOUR CODE HERE
        layers, channels = [], n_channels
        for item in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool", 512, 512, "pool"):
            if item == "pool":
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            else:
                layers += [nn.Conv2d(channels, item, kernel_size=3, stride=1, padding=1), nn.BatchNorm2d(item),
                           nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, n_classes)
        # END OF YOUR CODE

    def forward(self, x):
        """
        x: (batch, n_channels, 32, 32) -> out: (batch, n_classes) logits.

        TODO: compute the logits.
        """
        # PUT YOUR CODE HERE
        out = self.classifier(self.features(x).flatten(1))
        # END OF YOUR CODE
        return out
