"""Shapes and parameter counts of the torch models."""

import pytest
import torch

from cifarlab.torch_nn.convnet import ConvNet
from cifarlab.torch_nn.mlp import MLP


def expected_convnet_parameters(classes=10):
    total, c_in = 0, 3
    for c_out in (64, 128, 256, 256, 512, 512, 512, 512):
        total += c_in * c_out * 9 + c_out  # conv weight + bias
        total += 2 * c_out  # batch-norm gamma and beta
        c_in = c_out
    return total + 512 * classes + classes


def test_convnet_maps_images_to_logits():
    assert ConvNet()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_convnet_has_the_study_layout_and_parameter_count():
    model = ConvNet()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.padding == (1, 1) for c in convs)
    assert len(pools) == 5 and all(p.kernel_size == 3 and p.stride == 2 and p.padding == 1 for p in pools)
    assert sum(p.numel() for p in model.parameters()) == expected_convnet_parameters() == 9_231_114


@pytest.mark.parametrize("norm", ["autograd", "function"])
def test_convnet_with_custom_batch_norm_matches_torch_batch_norm_in_float64(norm):
    torch.manual_seed(0)
    ours, reference = ConvNet(batch_norm=norm).double(), ConvNet(batch_norm="torch").double()
    with torch.no_grad():
        for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
            mine.copy_(theirs + 0.01 * torch.randn_like(theirs))  # batch-norm scales away from 1
            theirs.copy_(mine)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    probe = torch.randn(4, 10, dtype=torch.float64)
    outputs = [model(x) for model in (ours, reference)]
    for output in outputs:
        (output * probe).sum().backward()
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-9, atol=1e-10)
    for (name, mine), theirs in zip(ours.named_parameters(), reference.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-7, atol=1e-9, msg=name)


def test_mlp_layers_follow_the_options():
    model = MLP(3072, (500, 500, 500), 10, batch_norm="function", dropout=0.2)
    assert model(torch.randn(4, 3072)).shape == (4, 10)
    kinds = [type(m).__name__ for m in model.net]
    assert kinds[:4] == ["Linear", "BatchNormFunctional", "LeakyReLU", "Dropout"] and kinds.count("Linear") == 4


def test_mlp_rejects_an_unknown_batch_norm():
    with pytest.raises(ValueError, match="unknown batch norm"):
        MLP(batch_norm="magic")
