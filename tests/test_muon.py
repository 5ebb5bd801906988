"""Muon for the conv filters, Nesterov SGD for the rest (training/muon.py)."""

import pytest
import torch

from cifarlab.training.muon import MuonWithSGD, orthogonalize
from cifarlab.training.optimizers import ParamGroup
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.resolve import resolve


@pytest.mark.parametrize("shape", [(16, 72), (72, 16)])
def test_orthogonalize_keeps_the_singular_vectors_and_evens_out_the_singular_values(shape):
    torch.manual_seed(0)
    u, _, v = torch.linalg.svd(torch.randn(*shape), full_matrices=False)
    spread = torch.logspace(0, -2, min(shape))  # singular values over two decades
    matrix = u @ torch.diag(spread) @ v
    result = orthogonalize(matrix, iterations=5)
    assert result.shape == matrix.shape and result.dtype == matrix.dtype
    # in the matrix's own singular basis the result is (nearly) diagonal: same singular vectors
    in_basis = u.T @ result @ v.T
    off_diagonal = in_basis - torch.diag(torch.diagonal(in_basis))
    assert off_diagonal.abs().max() < 0.05
    values = torch.diagonal(in_basis)
    # every direction moves by about the same amount, whatever its share of the gradient
    assert values.min() > 0.5 and values.max() < 1.5, values


def test_filter_steps_keep_each_filter_banks_norm_and_move_by_the_learning_rate():
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(8, 4, 3, 3) * 3)
    optimizer = MuonWithSGD([ParamGroup([weight], muon=True)], lr=0.1, momentum=0.9, nesterov=True,
                            weight_decay=0.0, muon_momentum=0.6)
    for _ in range(3):
        weight.grad = torch.randn_like(weight)
        before = weight.detach().clone()
        optimizer.step()
        # the norm is reset to sqrt(out channels) before each step; the step itself is lr * ~orthogonal
        normalised = before * (8 ** 0.5 / before.norm())
        step = (weight.detach() - normalised).reshape(8, -1)
        singular_values = torch.linalg.svdvals(step / 0.1)
        assert singular_values.max() < 1.5 and singular_values.min() > 0.3


def test_other_groups_take_exactly_torch_sgd_steps():
    torch.manual_seed(0)
    ours, reference = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    reference.load_state_dict(ours.state_dict())
    mine = MuonWithSGD([ParamGroup(list(ours.parameters()))], lr=0.1, momentum=0.85, nesterov=True, weight_decay=1e-2)
    sgd = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.85, nesterov=True, weight_decay=1e-2)
    for _ in range(4):
        x = torch.randn(7, 5)
        for model, optimizer in ((ours, mine), (reference, sgd)):
            optimizer.zero_grad()
            model(x).square().sum().backward()
            optimizer.step()
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_fastnet_groups_give_muon_the_filters_without_weight_decay():
    cfg, runtime = resolve("fastnet", {"widths": (8, 16, 16), "optimizer": "muon", "lr": 1.0, "muon_lr": 0.2,
                                       "muon_momentum": 0.7, "weight_decay": 1e-3, "device": "cpu"})
    learner = get_model("fastnet").make_learner(cfg, DataShape(10, 100), runtime)
    model, optimizer = learner.model, learner.optimizer
    muon_groups = [g for g in optimizer.param_groups if g["muon"]]
    assert [group.lr_scale for group in learner.param_groups if group.muon] == [pytest.approx(0.2)]
    assert len(muon_groups) == 1 and muon_groups[0]["weight_decay"] == 0.0 and muon_groups[0]["muon_momentum"] == 0.7
    filters = {id(p) for p in model.parameters() if p.requires_grad and p.dim() == 4}
    assert {id(p) for p in muon_groups[0]["params"]} == filters
    assert id(model.head.weight) not in filters


@pytest.mark.parametrize("precision, muon_precision, expected", [
    ("fp32", "run", torch.float32), ("bf16", "run", torch.bfloat16),
    ("fp32", "bf16", torch.bfloat16), ("bf16", "fp32", torch.float32)])
def test_newton_schulz_runs_in_the_runs_precision_unless_told(precision, muon_precision, expected):
    """bf16 products are emulated on CPUs without native bf16 (18x slower there than float32),
    so a float32 run iterates in float32."""
    cfg, runtime = resolve("fastnet", {"widths": (8, 16, 16), "optimizer": "muon", "device": "cpu",
                                       "precision": precision, "muon_precision": muon_precision})
    learner = get_model("fastnet").make_learner(cfg, DataShape(10, 100), runtime)
    assert learner.optimizer.muon_dtype == expected


def test_runs_saved_before_muon_precision_existed_iterate_in_bf16_as_they_did():
    from cifarlab.training.configs import config_from_dict
    from cifarlab.training.fastnet.config import FastNetConfig

    assert config_from_dict(FastNetConfig, {"optimizer": "muon", "steps": 10}).muon_precision == "bf16"
    assert FastNetConfig().muon_precision == "run"


def test_float32_iterations_agree_with_bf16_ones_to_bf16_rounding():
    torch.manual_seed(0)
    matrix = torch.randn(64, 576)
    in_bf16, in_fp32 = orthogonalize(matrix, dtype=torch.bfloat16), orthogonalize(matrix, dtype=torch.float32)
    assert in_fp32.dtype == in_bf16.dtype == torch.float32
    # bf16 keeps 8 bits of significand (0.4 % per product); three iterations amplify it to ~2 %
    assert (in_fp32 - in_bf16).norm() / in_fp32.norm() < 0.05
