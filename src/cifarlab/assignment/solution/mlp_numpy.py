"""A multi-layer perceptron built from the NumPy modules of modules.py."""

from modules import LeakyReLUModule, LinearModule, SoftMaxModule  # noqa: F401 (used in the blanks)


class MLP:
    """Linear -> LeakyReLU for each hidden layer, then Linear -> SoftMax."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope):
        """
        n_inputs: features per input; n_hidden: a list of hidden-layer sizes (empty: logistic
        regression); n_classes: outputs; neg_slope: the LeakyReLU's slope for x <= 0.

        TODO: build the layers, keeping them in an attribute of your choice.
        """
        # PUT YOUR CODE HERE
        sizes = [n_inputs, *n_hidden]
        self.layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.layers += [LinearModule(fan_in, fan_out), LeakyReLUModule(neg_slope)]
        self.layers += [LinearModule(sizes[-1], n_classes), SoftMaxModule()]
        # END OF YOUR CODE

    def forward(self, x):
        """
        x: (batch, n_inputs) -> out: (batch, n_classes) softmax probabilities.

        TODO: pass x through every layer in order.
        """
        # PUT YOUR CODE HERE
        out = x
        for layer in self.layers:
            out = layer.forward(out)
        # END OF YOUR CODE
        return out

    def backward(self, dout):
        """
        dout: dL/dout (batch, n_classes) -> dL/dx (batch, n_inputs); every LinearModule's
        grads are filled on the way (the chain rule, last layer first).

        TODO: pass dout back through every layer in reverse order.
        """
        # PUT YOUR CODE HERE
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        # END OF YOUR CODE
        return dout
