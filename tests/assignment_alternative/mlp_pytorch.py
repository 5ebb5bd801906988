import torch
from torch import nn


class MLP(nn.Module):
    """The spring 2019 interface: no neg_slope, ReLU."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__()
        self.hidden = nn.ModuleList()
        for size in n_hidden:
            self.hidden.append(nn.Linear(n_inputs, size))
            n_inputs = size
        self.head = nn.Linear(n_inputs, n_classes)

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.head(x)
