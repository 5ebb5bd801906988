import numpy as np


class LinearModule:
    def __init__(self, in_features, out_features):
        self.params = {"weight": np.random.randn(in_features, out_features) * 1e-4,
                       "bias": np.zeros((1, out_features))}
        self.grads = {"weight": np.zeros((in_features, out_features)), "bias": np.zeros((1, out_features))}

    def forward(self, x):
        self.cache = x
        out = np.zeros((x.shape[0], self.params["weight"].shape[1]))
        for row in range(x.shape[0]):
            for column in range(out.shape[1]):
                out[row, column] = sum(x[row, k] * self.params["weight"][k, column] for k in range(x.shape[1]))
        return out + self.params["bias"]

    def backward(self, dout):
        x = self.cache
        grad_w = np.zeros_like(self.params["weight"])
        for row in range(x.shape[0]):
            grad_w += np.outer(x[row], dout[row])
        self.grads["weight"] = grad_w
        self.grads["bias"] = np.sum(dout, axis=0, keepdims=True)
        return np.einsum("bo,io->bi", dout, self.params["weight"])


class LeakyReLUModule:
    def __init__(self, neg_slope):
        self.neg_slope = neg_slope

    def forward(self, x):
        self.mask = (x > 0).astype(float) + self.neg_slope * (x <= 0)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class SoftMaxModule:
    def forward(self, x):
        b = x.max(axis=1)[:, None]
        y = np.exp(x - b)
        self.s = y / y.sum(axis=1)[:, None]
        return self.s

    def backward(self, dout):
        dx = np.empty_like(dout)
        for i in range(dout.shape[0]):
            s = self.s[i]
            jacobian = np.diag(s) - np.outer(s, s)
            dx[i] = jacobian @ dout[i]
        return dx


class CrossEntropyModule:
    def forward(self, x, y):
        return np.mean(-np.log(np.sum(x * y, axis=1)))

    def backward(self, x, y):
        return -(y / x) / x.shape[0]


class SoftMaxCrossEntropyModule:
    def forward(self, x, y):
        m = np.max(x, axis=1, keepdims=True)
        logsumexp = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
        return np.mean(np.sum(y * (logsumexp - x), axis=1))

    def backward(self, x, y):
        e = np.exp(x - np.max(x, axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True) - y) / len(y)
