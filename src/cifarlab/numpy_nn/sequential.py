"""A chain of modules, and the MLP built from a list of hidden sizes."""

from __future__ import annotations

import numpy as np

from cifarlab.numpy_nn.activations import LeakyReLU, ReLU
from cifarlab.numpy_nn.batchnorm import BatchNorm1d
from cifarlab.numpy_nn.dropout import Dropout
from cifarlab.numpy_nn.linear import Linear
from cifarlab.numpy_nn.module import Module


class Sequential(Module):
    """Parameters are named '<index>.<name>', as in torch.nn.Sequential."""

    def __init__(self, *modules: Module):
        super().__init__()
        self.modules = list(modules)

    def forward(self, x):
        for module in self.modules:
            x = module.forward(x)
        return x

    def backward(self, grad):
        for module in reversed(self.modules):
            grad = module.backward(grad)
        return grad

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": value
                for i, module in enumerate(self.modules)
                for name, value in getattr(module, attribute)().items()}

    def parameters(self):
        return self._named("parameters")

    def gradients(self):
        return self._named("gradients")

    def buffers(self):
        return self._named("buffers")

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy saved parameters and buffers (names as from `parameters`/`buffers`) in place."""
        for i, module in enumerate(self.modules):
            for store in (module.params, module.buffers()):
                for name in store:
                    store[name][...] = arrays[f"{i}.{name}"]

    def train(self, mode: bool = True):
        self.training = mode
        for module in self.modules:
            module.train(mode)
        return self

    def astype(self, dtype):
        for module in self.modules:
            module.astype(dtype)
        return self


def build_mlp(n_in: int, hidden: tuple[int, ...], n_out: int, *, seed: int, activation: str = "leaky_relu",
              neg_slope: float = 0.02, batch_norm: bool = False, dropout: float = 0.0, init: str = "he",
              input_grad: bool = True) -> Sequential:
    """[Linear -> (BatchNorm) -> activation -> (Dropout)] per hidden size, then Linear to logits.
    `init`: see linear.initial_parameters; `input_grad=False` skips dL/dx of the first layer."""
    if activation not in ("relu", "leaky_relu"):
        raise ValueError(f"unknown activation {activation!r}: use relu or leaky_relu")
    rng = np.random.default_rng(seed)
    slope = neg_slope if activation == "leaky_relu" else 0.0
    modules: list[Module] = []
    sizes = (n_in, *hidden)
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(Linear(fan_in, fan_out, rng, slope, input_grad=input_grad or index > 0, init=init))
        if batch_norm:
            modules.append(BatchNorm1d(fan_out))
        modules.append(LeakyReLU(neg_slope) if activation == "leaky_relu" else ReLU())
        if dropout:
            modules.append(Dropout(dropout, rng))
    modules.append(Linear(sizes[-1], n_out, rng, 0.0, input_grad=input_grad or bool(hidden), init=init))
    return Sequential(*modules)
