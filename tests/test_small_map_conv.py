"""The 3x3 convolution whose weight gradient on tiny maps is a forward convolution: the same
gradients as torch's own convolution, taken only where it was measured faster."""

import pytest
import torch
from torch import nn

from cifarlab.torch_nn import small_map_conv
from cifarlab.torch_nn.small_map_conv import ConvWithForwardWeightGrad, SmallMapConv2d


def test_the_function_passes_gradcheck_in_float64():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(5, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ConvWithForwardWeightGrad.apply, (x, weight))


def test_weight_gradient_equals_torchs_on_a_larger_map_too():
    torch.manual_seed(1)
    x, grad_out = torch.randn(6, 3, 7, 5, dtype=torch.float64), torch.randn(6, 4, 7, 5, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    nn.functional.conv2d(x, weight, padding=1).backward(grad_out)
    torch.testing.assert_close(small_map_conv.weight_grad_as_forward_conv(x, grad_out), weight.grad)


def count_routed_calls(monkeypatch) -> list:
    calls = []
    original = ConvWithForwardWeightGrad.apply
    monkeypatch.setattr(ConvWithForwardWeightGrad, "apply", lambda *args: calls.append(1) or original(*args))
    return calls


def test_bf16_training_on_three_pixel_maps_matches_the_plain_conv(monkeypatch):
    torch.manual_seed(2)
    ours = SmallMapConv2d(16, 24).to(memory_format=torch.channels_last)
    plain = nn.Conv2d(16, 24, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    plain.load_state_dict(ours.state_dict())  # the same parameters, so checkpoints load either way
    x = torch.randn(20, 16, 3, 3).contiguous(memory_format=torch.channels_last)
    calls = count_routed_calls(monkeypatch)
    outputs = []
    for conv in (ours, plain):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = conv(x)
        out.float().square().sum().backward()
        outputs.append(out)
    assert calls == [1] and outputs[0].dtype == torch.bfloat16
    torch.testing.assert_close(outputs[0], outputs[1])
    assert ours.weight.grad.dtype == torch.float32
    torch.testing.assert_close(ours.weight.grad, plain.weight.grad, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("case", ["five-pixel map", "float32", "no grad", "frozen weight"])
def test_everything_else_takes_the_plain_conv(monkeypatch, case):
    conv = SmallMapConv2d(4, 4)
    x = torch.randn(2, 4, 5 if case == "five-pixel map" else 3, 3)
    if case == "frozen weight":
        conv.weight.requires_grad_(False)
    calls = count_routed_calls(monkeypatch)
    bf16, grad = case != "float32", case != "no grad"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16), torch.set_grad_enabled(grad):
        conv(x)
    assert calls == []
