"""Muon for convolution filters, Nesterov SGD for everything else, in one torch optimiser.

Muon (Jordan et al., 2024) replaces a weight matrix's momentum-smoothed gradient by the
nearest semi-orthogonal matrix, so that every direction of the update moves by the same
amount however unevenly the gradient is spread over them. The orthogonalisation is a few
Newton-Schulz iterations of an odd quintic polynomial rather than an SVD; the polynomial's
coefficients (published with the method) push all singular values towards ~1 in three
steps, not exactly to 1, which trains as well.

As in the published airbench94_muon recipe (facts only): a filter bank (out, in, k, k) is
orthogonalised as an (out, in*k*k) matrix; its norm is reset to sqrt(out) before each step
instead of weight decay, so the learning rate is an angle per step; groups not marked `muon`
(batch-norm shifts, whitening bias, the head) take Nesterov SGD steps with decay.
"""

from __future__ import annotations

import torch

from cifarlab.training.optimizers import ParamGroup, torch_groups

QUINTIC = (3.4445, -4.7750, 2.0315)  # Newton-Schulz coefficients published with Muon


def orthogonalize(matrix: torch.Tensor, iterations: int = 3, dtype=torch.bfloat16) -> torch.Tensor:
    """An approximately semi-orthogonal matrix with the singular vectors of `matrix` (2-D),
    iterated in `dtype`: bf16 as published (fast on GPUs and CPUs with native bf16); float32
    where bf16 is emulated (there bf16 matrix products ran 18x slower)."""
    a, b, c = QUINTIC
    x = matrix.to(dtype)
    x = x / (x.norm() + 1e-7)  # singular values <= 1: inside the polynomial's basin
    tall = x.shape[0] > x.shape[1]
    if tall:  # iterate on the smaller Gram matrix
        x = x.T
    for _ in range(iterations):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x.T if tall else x).to(matrix.dtype)


class MuonWithSGD(torch.optim.Optimizer):
    """Groups marked `muon` take Muon steps with `muon_momentum`; the rest take (Nesterov)
    SGD steps with `momentum` and their group's weight decay (`weight_decay` x its wd_scale).
    `muon_dtype`: the precision of the Newton-Schulz iterations."""

    def __init__(self, groups: list[ParamGroup], lr: float, momentum: float, nesterov: bool, weight_decay: float,
                 muon_momentum: float = 0.6, muon_iterations: int = 3, muon_dtype=torch.bfloat16):
        params = [{**as_dict, "muon": group.muon} for group, as_dict in zip(groups, torch_groups(groups, weight_decay))]
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                        muon_momentum=muon_momentum, muon_iterations=muon_iterations, muon=False)
        super().__init__(params, defaults)
        self.muon_dtype = muon_dtype  # not a group setting: checkpoints keep their groups as they were

    def _momentum_direction(self, p: torch.Tensor, grad: torch.Tensor, momentum: float, nesterov: bool):
        buffer = self.state[p].get("momentum_buffer")
        if buffer is None:
            buffer = self.state[p]["momentum_buffer"] = grad.clone()
        else:
            buffer.mul_(momentum).add_(grad)
        return grad.add(buffer, alpha=momentum) if nesterov else buffer

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["muon"]:
                    direction = self._momentum_direction(p, p.grad, group["muon_momentum"], group["nesterov"])
                    p.mul_(p.shape[0] ** 0.5 / p.norm())
                    update = orthogonalize(direction.reshape(len(direction), -1), group["muon_iterations"],
                                           self.muon_dtype)
                    p.add_(update.view_as(p), alpha=-group["lr"])
                else:
                    grad = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                    direction = self._momentum_direction(p, grad, group["momentum"], group["nesterov"])
                    p.add_(direction, alpha=-group["lr"])
