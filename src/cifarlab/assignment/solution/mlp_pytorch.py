"""A multi-layer perceptron in PyTorch."""

import torch.nn as nn


class MLP(nn.Module):
    """Linear -> LeakyReLU for each hidden layer, then Linear to the logits."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope):
        """
        n_inputs: features per input; n_hidden: a list of hidden-layer sizes; n_classes:
        outputs; neg_slope: the LeakyReLU's slope for x <= 0. Keep torch's default init.

        TODO: build the network.
        """
        super().__init__()
        # PUT YOUR CODE HERE
        sizes = [n_inputs, *n_hidden]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.LeakyReLU(neg_slope)]
        layers.append(nn.Linear(sizes[-1], n_classes))
        self.layers = nn.Sequential(*layers)
        # END OF YOUR CODE

    def forward(self, x):
        """
        x: (batch, n_inputs) -> out: (batch, n_classes) logits (no softmax: the loss,
        nn.CrossEntropyLoss, applies it).

        TODO: compute the logits.
        """
        # PUT YOUR CODE HERE
        out = self.layers(x)
        # END OF YOUR CODE
        return out
