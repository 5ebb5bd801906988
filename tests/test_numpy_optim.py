"""Optimiser steps against hand-computed values and against torch.optim."""

import numpy as np
import pytest
import torch

from cifarlab.numpy_nn.optim import SGD, Adam


def test_plain_sgd_step_by_hand():
    param = np.array([1.0, -2.0])
    SGD(lr=0.1).step({"p": param}, {"p": np.array([0.5, 1.0])})
    np.testing.assert_allclose(param, [0.95, -2.1])


def test_sgd_momentum_two_steps_by_hand():
    param, grad = np.array([1.0]), np.array([1.0])
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step({"p": param}, {"p": grad})  # v = 1, p = 0.9
    opt.step({"p": param}, {"p": grad})  # v = 1.9, p = 0.71
    np.testing.assert_allclose(param, [0.71])


def test_sgd_nesterov_and_weight_decay_by_hand():
    param = np.array([2.0])
    SGD(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.25).step({"p": param}, {"p": np.array([1.0])})
    # g = 1 + 0.25 * 2 = 1.5; v = 1.5; step = g + 0.5 v = 2.25; p = 2 - 0.225
    np.testing.assert_allclose(param, [1.775])


def test_adam_first_step_moves_each_parameter_by_lr():
    param = np.array([1.0, 1.0])
    Adam(lr=0.01).step({"p": param}, {"p": np.array([3.0, -0.2])})
    np.testing.assert_allclose(param, [0.99, 1.01], rtol=1e-6)


@pytest.mark.parametrize("make_ours, make_torch", [
    (lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    (lambda: Adam(0.01, weight_decay=1e-3), lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-3)),
], ids=["sgd", "adam"])
def test_optimizers_follow_torch_for_several_steps(make_ours, make_torch):
    rng = np.random.default_rng(0)
    ours = rng.standard_normal(5)
    theirs = torch.tensor(ours.copy(), requires_grad=True)
    opt_ours, opt_torch = make_ours(), make_torch([theirs])
    for _ in range(5):
        grad = rng.standard_normal(5)
        opt_ours.step({"p": ours}, {"p": grad})
        theirs.grad = torch.tensor(grad)
        opt_torch.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10)


def test_optimizer_state_round_trips():
    param, grad = np.array([1.0, 2.0]), np.array([0.3, -0.1])
    first = Adam(0.1)
    first.step({"p": param}, {"p": grad})
    second = Adam(0.1)
    second.load_state(first.state())
    a, b = param.copy(), param.copy()
    first.step({"p": a}, {"p": grad})
    second.step({"p": b}, {"p": grad})
    np.testing.assert_array_equal(a, b)
