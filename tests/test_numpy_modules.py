"""The NumPy engine against finite differences and against torch, in float64."""

import numpy as np
import pytest
import torch

from cifarlab.numpy_nn import (BatchNorm1d, CrossEntropy, Dropout, LeakyReLU, Linear, ReLU, Softmax,
                               SoftmaxCrossEntropy, build_mlp)
from cifarlab.numpy_nn.gradcheck import TOLERANCE, check_all, check_loss, check_mlp, check_module


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("batch", [1, 6])
@pytest.mark.parametrize("make", [
    lambda: Linear(5, 4, np.random.default_rng(1)),
    lambda: ReLU(), lambda: LeakyReLU(0.02), lambda: Softmax(),
    lambda: Dropout(0.4, np.random.default_rng(2)),
], ids=["linear", "relu", "leaky_relu", "softmax", "dropout"])
def test_module_gradients_match_finite_differences(make, batch, rng):
    result = check_module(make(), rng.standard_normal((batch, 5)))
    assert result.passed(TOLERANCE), result.errors


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences_in_both_modes(training, rng):
    layer = BatchNorm1d(5)
    layer.running["running_mean"] += 0.3  # eval mode must use these, not the batch's
    result = check_module(layer.train(training), rng.standard_normal((7, 5)) * 2 + 1)
    assert result.passed(TOLERANCE), result.errors


def test_batchnorm_eval_gradients_hold_for_a_single_example(rng):
    assert check_module(BatchNorm1d(4).eval(), rng.standard_normal((1, 4))).passed(TOLERANCE)


@pytest.mark.parametrize("batch", [1, 5])
def test_losses_match_finite_differences(batch, rng):
    labels = rng.integers(0, 3, batch)
    assert check_loss(CrossEntropy(), rng.dirichlet(np.ones(3), size=batch), labels).passed(TOLERANCE)
    assert check_loss(SoftmaxCrossEntropy(), rng.standard_normal((batch, 3)), labels).passed(TOLERANCE)


def test_every_check_of_the_cli_passes():
    assert all(result.passed(TOLERANCE) for result in check_all())


def test_mlp_gradients_match_finite_differences(rng):
    model = build_mlp(6, (5, 4), 3, seed=0, batch_norm=True, dropout=0.3)
    assert check_mlp(model, rng.standard_normal((4, 6)), rng.integers(0, 3, 4)).passed(TOLERANCE)


def test_gradcheck_detects_a_wrong_backward(rng):
    class BrokenLeakyReLU(LeakyReLU):
        def backward(self, grad):
            return grad  # forgets the negative slope
    assert not check_module(BrokenLeakyReLU(0.1), rng.standard_normal((4, 5))).passed(TOLERANCE)


def test_linear_and_leaky_relu_match_torch(rng):
    layer = Linear(6, 3, rng).astype(np.float64)
    x = rng.standard_normal((4, 6))
    weight = torch.tensor(layer.params["weight"], requires_grad=True)
    bias = torch.tensor(layer.params["bias"], requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.leaky_relu(xt @ weight.T + bias, 0.02)
    probe = rng.standard_normal(out.shape)
    (out * torch.tensor(probe)).sum().backward()
    act = LeakyReLU(0.02)
    ours = act.forward(layer.forward(x))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(act.backward(probe)), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], weight.grad.numpy(), rtol=1e-12)


def test_batchnorm_matches_torch_in_train_then_eval(rng):
    ours = BatchNorm1d(4).astype(np.float64)
    theirs = torch.nn.BatchNorm1d(4, dtype=torch.float64)
    for _ in range(3):
        x = rng.standard_normal((8, 4)) * 3 + 2
        np.testing.assert_allclose(ours.forward(x), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running["running_var"], theirs.running_var.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(ours.forward(x), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    value = loss.forward(np.array([[1000.0, -1000.0, 0.0]]), np.array([1]))
    assert np.isfinite(value) and value == pytest.approx(2000.0)
    assert np.all(np.isfinite(loss.backward()))


def test_separate_softmax_and_cross_entropy_equal_the_fused_form(rng):
    logits, labels = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    softmax, separate, fused = Softmax(), CrossEntropy(), SoftmaxCrossEntropy()
    assert separate.forward(softmax.forward(logits), labels) == pytest.approx(fused.forward(logits, labels))
    np.testing.assert_allclose(softmax.backward(separate.backward()), fused.backward(), atol=1e-12)


def test_dropout_is_identity_in_eval_and_keeps_the_mean_in_training():
    layer = Dropout(0.5, np.random.default_rng(0))
    x = np.ones((200, 50), dtype=np.float32)
    assert np.array_equal(layer.eval().forward(x), x)
    out = layer.train().forward(x)
    assert set(np.unique(out)) == {0.0, 2.0} and abs(out.mean() - 1.0) < 0.05


def test_mlp_is_float32_and_seeded():
    first, second = build_mlp(3072, (100,), 10, seed=4), build_mlp(3072, (100,), 10, seed=4)
    params = first.parameters()
    assert all(v.dtype == np.float32 for v in params.values())
    assert list(params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_array_equal(params["0.weight"], second.parameters()["0.weight"])


def test_first_layer_without_input_gradient_still_trains_its_weights(rng):
    model = build_mlp(5, (4,), 3, seed=0, input_grad=False)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(rng.standard_normal((2, 5)).astype(np.float32)), np.array([0, 1]))
    assert model.backward(loss.backward()) is None
    assert np.abs(model.gradients()["0.weight"]).sum() > 0
