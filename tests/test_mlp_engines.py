"""One MLP family: the NumPy and the torch MLP are the same network for the same options."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cifarlab.numpy_nn import SoftmaxCrossEntropy, build_mlp
from cifarlab.torch_nn.mlp import MLP

TORCH_NAMES = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


def torch_name(numpy_name: str) -> str:
    """'3.gamma' (NumPy Sequential) -> 'net.3.weight' (torch MLP)."""
    index, name = numpy_name.split(".")
    return f"net.{index}.{TORCH_NAMES[name]}"


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", ["leaky_relu", "relu"])
def test_same_weights_give_the_same_logits_and_gradients_in_float64(batch_norm, activation):
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((6, 12)), rng.integers(0, 4, 6)
    ours = build_mlp(12, (7, 5), 4, seed=1, activation=activation, neg_slope=0.1, batch_norm=batch_norm).astype(
        np.float64)
    theirs = MLP(12, (7, 5), 4, activation=activation, neg_slope=0.1,
                 batch_norm="torch" if batch_norm else "none").double()
    params = ours.parameters()
    with torch.no_grad():
        named = dict(theirs.named_parameters())
        assert sorted(named) == sorted(torch_name(k) for k in params)
        for name, value in params.items():
            named[torch_name(name)].copy_(torch.from_numpy(value))

    loss = SoftmaxCrossEntropy()
    logits = ours.forward(x)
    loss_value = loss.forward(logits, labels)
    input_grad = ours.backward(loss.backward())
    inputs = torch.from_numpy(x).requires_grad_(True)
    torch_logits = theirs(inputs)
    torch_loss = F.cross_entropy(torch_logits, torch.from_numpy(labels))
    torch_loss.backward()

    np.testing.assert_allclose(logits, torch_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss_value == pytest.approx(torch_loss.item(), rel=1e-12)
    np.testing.assert_allclose(input_grad, inputs.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, grad in ours.gradients().items():
        np.testing.assert_allclose(grad, named[torch_name(name)].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("init, weight_std, bias_std", [
    ("he", np.sqrt(2 / 3072), 0.0),  # ReLU: N(0, 2 / fan_in), zero biases
    ("torch", 1 / np.sqrt(3 * 3072), 1 / np.sqrt(3 * 3072)),  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
])
def test_both_engines_draw_the_same_initial_distribution(init, weight_std, bias_std):
    numpy_layer = build_mlp(3072, (400,), 10, seed=0, activation="relu", init=init).parameters()
    torch.manual_seed(0)
    torch_layer = dict(MLP(3072, (400,), 10, activation="relu", init=init).named_parameters())
    for weight, bias in ((numpy_layer["0.weight"], numpy_layer["0.bias"]),
                         (torch_layer["net.0.weight"].detach().numpy(), torch_layer["net.0.bias"].detach().numpy())):
        assert weight.std() == pytest.approx(weight_std, rel=0.01)
        assert abs(weight.mean()) < 0.01 * weight_std
        assert bias.std() == pytest.approx(bias_std, rel=0.15, abs=1e-12)
    bound = 1 / np.sqrt(3072)
    if init == "torch":
        assert np.abs(numpy_layer["0.weight"]).max() <= bound
        assert torch_layer["net.0.weight"].abs().max().item() <= bound
