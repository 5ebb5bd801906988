"""Optimisers updating parameter arrays in place, with torch's update rules."""

from __future__ import annotations

import numpy as np


class SGD:
    """g <- g + wd p; v <- mu v + g; step = g + mu v (Nesterov) or v; p <- p - lr step."""

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.lr, self.momentum, self.nesterov, self.weight_decay = lr, momentum, nesterov, weight_decay
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            if self.momentum:
                velocity = self.velocity.get(name)
                if velocity is None:
                    velocity = self.velocity[name] = grad.copy()
                else:
                    velocity *= self.momentum
                    velocity += grad
                grad = grad + self.momentum * velocity if self.nesterov else velocity
            param -= param.dtype.type(self.lr) * grad

    def state(self) -> dict[str, np.ndarray]:
        return {f"velocity.{k}": v for k, v in self.velocity.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.velocity = {k.removeprefix("velocity."): v.copy() for k, v in state.items()}


class Adam:
    """m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr m^ / (sqrt(v^) + eps),
    with bias-corrected m^, v^; weight decay is added to the gradient (L2), as torch's Adam."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        correction1, correction2 = 1 - beta1**self.t, 1 - beta2**self.t
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            m = self.m.setdefault(name, np.zeros_like(param))
            v = self.v.setdefault(name, np.zeros_like(param))
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * np.square(grad)
            denominator = np.sqrt(v / correction2) + self.eps
            param -= (self.lr / correction1) * m / denominator

    def state(self) -> dict[str, np.ndarray]:
        return {**{f"m.{k}": v for k, v in self.m.items()}, **{f"v.{k}": v for k, v in self.v.items()},
                "t": np.asarray(self.t)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state.get("t", 0))
        self.m = {k[2:]: v.copy() for k, v in state.items() if k.startswith("m.")}
        self.v = {k[2:]: v.copy() for k, v in state.items() if k.startswith("v.")}


def build_optimizer(name: str, lr: float, momentum: float = 0.0, nesterov: bool = False,
                    weight_decay: float = 0.0):
    if name == "sgd":
        return SGD(lr, momentum, nesterov, weight_decay)
    if name == "adam":
        return Adam(lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: use sgd or adam")
