"""The NumPy modules of an MLP, each with a forward and a hand-written backward pass.

Every module works on a whole mini-batch: x is (batch, features). `forward` keeps what
`backward` needs; `backward(dout)` takes dL/d(output) and returns dL/d(input).
"""

import numpy as np


class LinearModule:
    """A fully connected layer: out = x W^T + b."""

    def __init__(self, in_features, out_features):
        """
        Parameters live in `self.params` ('weight': (out_features, in_features) drawn from
        N(0, 1e-4^2); 'bias': (out_features,) zeros); their gradients in `self.grads`, with
        the same keys and shapes.
        """
        self.params = {"weight": np.random.normal(0.0, 1e-4, (out_features, in_features)),
                       "bias": np.zeros(out_features)}
        self.grads = {"weight": np.zeros((out_features, in_features)), "bias": np.zeros(out_features)}

    def forward(self, x):
        """
        x: (batch, in_features) -> out: (batch, out_features), out = x W^T + b.

        TODO: compute the output and keep what backward needs.
        """
        # PUT YOUR CODE HERE
        self.x = x
        out = x @ self.params["weight"].T + self.params["bias"]
        # END OF YOUR CODE
        return out

    def backward(self, dout):
        """
        dout: dL/dout (batch, out_features) -> dx: dL/dx (batch, in_features).

        dL/dW = dout^T x (summed over the batch), dL/db = column sums of dout, dL/dx = dout W.

        TODO: store dL/dW and dL/db in self.grads and return dL/dx.
        """
        # PUT YOUR CODE HERE
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=0)
        dx = dout @ self.params["weight"]
        # END OF YOUR CODE
        return dx


class LeakyReLUModule:
    """out = x where x > 0, neg_slope * x elsewhere."""

    def __init__(self, neg_slope):
        self.neg_slope = neg_slope

    def forward(self, x):
        """
        x: (batch, n) -> out: (batch, n).

        TODO: compute the output and keep what backward needs.
        """
        # PUT YOUR CODE HERE
        self.positive = x > 0
        out = np.where(self.positive, x, self.neg_slope * x)
        # END OF YOUR CODE
        return out

    def backward(self, dout):
        """
        dout: (batch, n) -> dx: (batch, n), with dout/dx = 1{x > 0} + neg_slope 1{x <= 0}.

        TODO: return dL/dx.
        """
        # PUT YOUR CODE HERE
        dx = np.where(self.positive, dout, self.neg_slope * dout)
        # END OF YOUR CODE
        return dx


class SoftMaxModule:
    """Row-wise softmax: out_i = exp(x_i) / sum_j exp(x_j)."""

    def forward(self, x):
        """
        x: (batch, n) logits -> out: (batch, n) probabilities, each row summing to 1.

        Subtract each row's maximum before exp(): the result is the same and exp() cannot
        overflow (the max trick).

        TODO: compute the output and keep what backward needs.
        """
        # PUT YOUR CODE HERE
        exponentials = np.exp(x - x.max(axis=1, keepdims=True))
        out = exponentials / exponentials.sum(axis=1, keepdims=True)
        self.out = out
        # END OF YOUR CODE
        return out

    def backward(self, dout):
        """
        dout: (batch, n) -> dx: (batch, n).

        Per row, d softmax / dx = diag(s) - s s^T with s = softmax(x), so
        dx = s * (dout - sum_j dout_j s_j).

        TODO: return dL/dx.
        """
        # PUT YOUR CODE HERE
        s = self.out
        dx = s * (dout - np.sum(dout * s, axis=1, keepdims=True))
        # END OF YOUR CODE
        return dx


class CrossEntropyModule:
    """L = -1/batch sum_b sum_i y_bi log x_bi for probabilities x and one-hot targets y."""

    def forward(self, x, y):
        """
        x: (batch, n) probabilities, y: (batch, n) one-hot -> L, the batch mean (a float).

        TODO: compute the loss.
        """
        # PUT YOUR CODE HERE
        out = -np.sum(y * np.log(x)) / len(x)
        # END OF YOUR CODE
        return out

    def backward(self, x, y):
        """
        x, y as in forward -> dx: dL/dx (batch, n), dL/dx = -y / x / batch.

        TODO: return dL/dx.
        """
        # PUT YOUR CODE HERE
        dx = -y / x / len(x)
        # END OF YOUR CODE
        return dx


class SoftMaxCrossEntropyModule:
    """Softmax and cross-entropy fused, on logits: stable for any logits."""

    def forward(self, x, y):
        """
        x: (batch, n) logits, y: (batch, n) one-hot -> L = -1/batch sum y log softmax(x).

        Use log softmax(x) = (x - m) - log sum_j exp(x_j - m), with m the row maximum, so
        that logits of 1000 give a finite loss.

        TODO: compute the loss.
        """
        # PUT YOUR CODE HERE
        shifted = x - x.max(axis=1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        out = -np.sum(y * log_probabilities) / len(x)
        # END OF YOUR CODE
        return out

    def backward(self, x, y):
        """
        x, y as in forward -> dx: dL/dx (batch, n), dL/dx = (softmax(x) - y) / batch.

        TODO: return dL/dx.
        """
        # PUT YOUR CODE HERE
        exponentials = np.exp(x - x.max(axis=1, keepdims=True))
        probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
        dx = (probabilities - y) / len(x)
        # END OF YOUR CODE
        return dx
