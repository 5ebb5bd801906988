"""The three custom batch-norm forms: gradcheck, and agreement with each other and torch."""

import pytest
import torch

from cifarlab.torch_nn.batchnorm import (BatchNorm2dCustom, BatchNormAutograd, BatchNormFunction,
                                         BatchNormFunctional)

FORMS = {"autograd": BatchNormAutograd, "function": BatchNormFunctional}


def test_function_passes_gradcheck_in_float64():
    torch.manual_seed(0)
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(4, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, g, b: BatchNormFunction.apply(a, g, b, 1e-5), (x, gamma, beta))


def test_gradcheck_would_catch_a_wrong_backward():
    class Broken(BatchNormFunction):
        @staticmethod
        def backward(ctx, grad_output):
            grad_x, grad_gamma, grad_beta, _ = BatchNormFunction.backward(ctx, grad_output)
            return grad_output, grad_gamma, grad_beta, None  # drops the batch-coupling terms

    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    gamma = torch.ones(4, dtype=torch.float64, requires_grad=True)
    beta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(lambda a, g, b: Broken.apply(a, g, b, 1e-5), (x, gamma, beta),
                                        raise_exception=False)


def run_form(layer, x, probe):
    x = x.clone().requires_grad_(True)
    out = layer(x)
    (out * probe).sum().backward()
    weight, bias = (layer.gamma, layer.beta) if hasattr(layer, "gamma") else (layer.weight, layer.bias)
    return out.detach(), x.grad, weight.grad, bias.grad


@pytest.mark.parametrize("batch", [2, 16])
def test_all_forms_agree_with_torch_in_training_and_eval(batch):
    torch.manual_seed(1)
    layers = {"torch": torch.nn.BatchNorm1d(5)}
    layers.update({name: form(5) for name, form in FORMS.items()})
    for layer in layers.values():
        layer.double()
    for mode in ("train", "train", "eval"):
        x = torch.randn(batch, 5, dtype=torch.float64) * 3 + 1
        probe = torch.randn(batch, 5, dtype=torch.float64)
        results = {}
        for name, layer in layers.items():
            layer.train(mode == "train")
            layer.zero_grad()
            results[name] = run_form(layer, x, probe)
        for name in FORMS:
            for ours, reference in zip(results[name], results["torch"]):
                torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(layers[name].running_mean, layers["torch"].running_mean, atol=1e-12, rtol=0)
            torch.testing.assert_close(layers[name].running_var, layers["torch"].running_var, atol=1e-12, rtol=0)


def test_function_module_and_autograd_module_agree_to_float64_precision():
    torch.manual_seed(2)
    x, probe = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    a = run_form(BatchNormAutograd(3).double(), x, probe)
    b = run_form(BatchNormFunctional(3).double(), x, probe)
    for left, right in zip(a, b):
        torch.testing.assert_close(left, right, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
def test_2d_variant_matches_torch_batchnorm2d(form):
    torch.manual_seed(3)
    ours, theirs = BatchNorm2dCustom(4, form).double(), torch.nn.BatchNorm2d(4).double()
    x, probe = torch.randn(3, 4, 5, 5, dtype=torch.float64), torch.randn(3, 4, 5, 5, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    (ours(xa) * probe).sum().backward()
    (theirs(xb) * probe).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(ours.norm.running_var, theirs.running_var, atol=1e-12, rtol=0)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-9, rtol=1e-9)
