"""The NumPy engine: modules with hand-written backward, optimisers, gradient checks.

No torch import anywhere in this package.
"""

from cifarlab.numpy_nn.activations import LeakyReLU, ReLU, Softmax
from cifarlab.numpy_nn.batchnorm import BatchNorm1d
from cifarlab.numpy_nn.dropout import Dropout
from cifarlab.numpy_nn.linear import Linear
from cifarlab.numpy_nn.losses import CrossEntropy, SoftmaxCrossEntropy
from cifarlab.numpy_nn.optim import SGD, Adam, build_optimizer
from cifarlab.numpy_nn.sequential import Sequential, build_mlp

__all__ = ["Adam", "BatchNorm1d", "CrossEntropy", "Dropout", "LeakyReLU", "Linear", "ReLU", "SGD",
           "Sequential", "Softmax", "SoftmaxCrossEntropy", "build_mlp", "build_optimizer"]
