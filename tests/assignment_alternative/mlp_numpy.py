from modules import LeakyReLUModule, LinearModule


class MLP:
    """Returns logits: the training script uses SoftMaxCrossEntropyModule."""

    def __init__(self, n_inputs, n_hidden, n_classes, neg_slope):
        self.linears, self.activations = [], []
        previous = n_inputs
        for size in n_hidden:
            self.linears.append(LinearModule(previous, size))
            self.activations.append(LeakyReLUModule(neg_slope))
            previous = size
        self.output_layer = LinearModule(previous, n_classes)

    def forward(self, x):
        for linear, activation in zip(self.linears, self.activations):
            x = activation.forward(linear.forward(x))
        return self.output_layer.forward(x)

    def backward(self, dout):
        dout = self.output_layer.backward(dout)
        for linear, activation in zip(reversed(self.linears), reversed(self.activations)):
            dout = linear.backward(activation.backward(dout))
        return dout
