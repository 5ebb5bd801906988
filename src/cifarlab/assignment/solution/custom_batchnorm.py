"""Batch normalisation for inputs of shape (n_batch, n_neurons), in three forms.

y = gamma * xhat + beta with xhat = (x - mean) / sqrt(var + eps), where mean and the
biased variance var are taken over the batch, per neuron. No running statistics.
"""

import torch
import torch.nn as nn


class CustomBatchNormAutograd(nn.Module):
    """Batch norm from differentiable torch operations: autograd derives the backward."""

    def __init__(self, n_neurons, eps=1e-5):
        """
        Learnable gamma (ones) and beta (zeros), each of shape (n_neurons,).

        TODO: create the parameters.
        """
        super().__init__()
        # PUT YOUR CODE HERE
        self.n_neurons, self.eps = n_neurons, eps
        self.gamma = nn.Parameter(torch.ones(n_neurons))
        self.beta = nn.Parameter(torch.zeros(n_neurons))
        # END OF YOUR CODE

    def forward(self, input):
        """
        input: (n_batch, n_neurons) -> out: (n_batch, n_neurons).

        TODO: check the input's shape, then normalise with the batch's mean and biased variance.
        """
        # PUT YOUR CODE HERE
        if input.dim() != 2 or input.shape[1] != self.n_neurons:
            raise ValueError(f"expected input of shape (n_batch, {self.n_neurons}), got {tuple(input.shape)}")
        mean = input.mean(dim=0)
        var = input.var(dim=0, unbiased=False)
        out = self.gamma * (input - mean) / torch.sqrt(var + self.eps) + self.beta
        # END OF YOUR CODE
        return out


class CustomBatchNormManualFunction(torch.autograd.Function):
    """Batch norm as an autograd Function with a hand-written backward."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        """
        input: (n_batch, n_neurons); gamma, beta: (n_neurons,) -> out: (n_batch, n_neurons).

        TODO: normalise, and save in ctx what backward needs.
        """
        # PUT YOUR CODE HERE
        mean = input.mean(dim=0)
        inv_std = 1.0 / torch.sqrt(input.var(dim=0, unbiased=False) + eps)
        xhat = (input - mean) * inv_std
        ctx.save_for_backward(xhat, gamma, inv_std)
        out = gamma * xhat + beta
        # END OF YOUR CODE
        return out

    @staticmethod
    def backward(ctx, grad_output):
        """
        grad_output: dL/dout (n_batch, n_neurons) -> (grad_input, grad_gamma, grad_beta, None),
        a gradient only where ctx.needs_input_grad asks for it (None elsewhere):

            dL/dgamma = sum_s dL/dy^s xhat^s,   dL/dbeta = sum_s dL/dy^s,
            dL/dx^r = gamma / (B sqrt(var + eps)) (B dL/dy^r - dL/dbeta - xhat^r dL/dgamma).

        TODO: compute the gradients.
        """
        # PUT YOUR CODE HERE
        xhat, gamma, inv_std = ctx.saved_tensors
        batch = grad_output.shape[0]
        grad_gamma = (grad_output * xhat).sum(dim=0)
        grad_beta = grad_output.sum(dim=0)
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = gamma * inv_std / batch * (batch * grad_output - grad_beta - xhat * grad_gamma)
        grad_gamma = grad_gamma if ctx.needs_input_grad[1] else None
        grad_beta = grad_beta if ctx.needs_input_grad[2] else None
        # END OF YOUR CODE
        return grad_input, grad_gamma, grad_beta, None


class CustomBatchNormManualModule(nn.Module):
    """Batch norm as a module that applies CustomBatchNormManualFunction."""

    def __init__(self, n_neurons, eps=1e-5):
        """
        Learnable gamma (ones) and beta (zeros), each of shape (n_neurons,).

        TODO: create the parameters.
        """
        super().__init__()
        # PUT YOUR CODE HERE
        self.n_neurons, self.eps = n_neurons, eps
        self.gamma = nn.Parameter(torch.ones(n_neurons))
        self.beta = nn.Parameter(torch.zeros(n_neurons))
        # END OF YOUR CODE

    def forward(self, input):
        """
        input: (n_batch, n_neurons) -> out: (n_batch, n_neurons).

        TODO: check the input's shape, then apply CustomBatchNormManualFunction.
        """
        # PUT YOUR CODE HERE
        if input.dim() != 2 or input.shape[1] != self.n_neurons:
            raise ValueError(f"expected input of shape (n_batch, {self.n_neurons}), got {tuple(input.shape)}")
        out = CustomBatchNormManualFunction.apply(input, self.gamma, self.beta, self.eps)
        # END OF YOUR CODE
        return out
