"""Custom batch normalisation for (B, n) inputs in the study's three forms, plus NCHW.

- BatchNormAutograd: an nn.Module built from differentiable torch ops (autograd derives
  the backward).
- BatchNormFunction: a torch.autograd.Function with the hand-written backward of the
  study (SPEC.md part 3).
- BatchNormFunctional: an nn.Module that applies BatchNormFunction.
Beyond the study, both modules keep running statistics with momentum (torch's rule:
running = (1 - m) running + m batch, unbiased variance) and normalise with them in eval
mode, so they match torch.nn.BatchNorm1d in both modes. BatchNorm2dCustom applies either
module to (N, C, H, W) by treating every pixel as a sample.
"""

from __future__ import annotations

import torch
from torch import nn


class BatchNormFunction(torch.autograd.Function):
    """y = gamma * xhat + beta with batch statistics; x: (B, n), gamma, beta: (n,)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps: float = 1e-5):
        mean = x.mean(dim=0)
        inv_std = torch.rsqrt(x.var(dim=0, unbiased=False) + eps)
        xhat = (x - mean) * inv_std
        ctx.save_for_backward(xhat, gamma, inv_std)
        return gamma * xhat + beta

    # dgamma = sum_s dy^s xhat^s; dbeta = sum_s dy^s;
    # dx^r = gamma / (B sqrt(var + eps)) * (B dy^r - dbeta - xhat^r dgamma)
    @staticmethod
    def backward(ctx, grad_output):
        xhat, gamma, inv_std = ctx.saved_tensors
        batch = grad_output.shape[0]
        grad_gamma = (grad_output * xhat).sum(dim=0)
        grad_beta = grad_output.sum(dim=0)
        grad_x = gamma * inv_std / batch * (batch * grad_output - grad_beta - xhat * grad_gamma)
        return grad_x, grad_gamma, grad_beta, None


class _BatchNormBase(nn.Module):
    """Parameters, running statistics and eval mode shared by the two custom modules."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _update_running(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            batch = x.shape[0]
            unbiased = x.var(dim=0, unbiased=False) * batch / max(batch - 1, 1)
            self.running_mean.lerp_(x.mean(dim=0), self.momentum)
            self.running_var.lerp_(unbiased, self.momentum)

    def _normalize_with_running(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps) + self.beta

    def _normalize_with_batch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self._normalize_with_running(x)
        self._update_running(x)
        return self._normalize_with_batch(x)

    def extra_repr(self) -> str:
        return f"{self.gamma.shape[0]}, eps={self.eps}, momentum={self.momentum}"


class BatchNormAutograd(_BatchNormBase):
    """Differentiable torch ops; autograd does the backward."""

    def _normalize_with_batch(self, x):
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        return self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta


class BatchNormFunctional(_BatchNormBase):
    """The hand-written backward, through BatchNormFunction."""

    def _normalize_with_batch(self, x):
        return BatchNormFunction.apply(x, self.gamma, self.beta, self.eps)


class BatchNorm2dCustom(nn.Module):
    """(N, C, H, W) batch norm from a (B, n) form: every pixel is a sample of its channel."""

    def __init__(self, num_features: int, form: type[_BatchNormBase] = BatchNormFunctional, **kwargs):
        super().__init__()
        self.norm = form(num_features, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(-1, c)
        return self.norm(rows).reshape(n, h, w, c).permute(0, 3, 1, 2)


BATCH_NORMS_1D = {"torch": nn.BatchNorm1d, "autograd": BatchNormAutograd, "function": BatchNormFunctional}
BATCH_NORMS_2D = {"torch": nn.BatchNorm2d,
                  "autograd": lambda n: BatchNorm2dCustom(n, BatchNormAutograd),
                  "function": lambda n: BatchNorm2dCustom(n, BatchNormFunctional)}
