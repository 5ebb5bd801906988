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
def test_convnet_runs_with_custom_batch_norm(norm):
    model = ConvNet(batch_norm=norm)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    assert model.classifier.weight.grad is not None


def test_mlp_layers_follow_the_options():
    model = MLP(3072, (500, 500, 500), 10, batch_norm="function", dropout=0.2)
    assert model(torch.randn(4, 3072)).shape == (4, 10)
    kinds = [type(m).__name__ for m in model.net]
    assert kinds[:4] == ["Linear", "BatchNormFunctional", "LeakyReLU", "Dropout"] and kinds.count("Linear") == 4


def test_mlp_rejects_an_unknown_batch_norm():
    with pytest.raises(ValueError, match="unknown batch norm"):
        MLP(batch_norm="magic")
