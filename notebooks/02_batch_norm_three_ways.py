# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Batch normalisation three ways, checked against torch
#
# The study builds batch normalisation for an MLP three ways: torch's own `nn.BatchNorm1d`,
# a module of differentiable torch operations whose backward autograd derives, and a
# `torch.autograd.Function` with the backward written by hand. This notebook checks that the
# three agree (forward, gradients, running statistics), then trains the study's MLP with each.
# Under a minute on a 2-core CPU.

# %% tags=["parameters"]
DATA = "../../shared/data/cifar10-jpeg.tar.gz"  # the CIFAR-10 source (docs/data.md); None: $CIFARLAB_DATA or the official download
STEPS = 300  # training steps of each of the three MLPs

# %%
import matplotlib.pyplot as plt
import torch

import cifarlab
from cifarlab.torch_nn.batchnorm import BatchNormAutograd, BatchNormFunction, BatchNormFunctional

# %% [markdown]
# ## The hand-written backward
#
# With $\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$ and $y = \gamma \hat{x} + \beta$ over a
# batch of $B$ samples, the backward pass is
# $\partial L/\partial\gamma = \sum_s g^s \hat{x}^s$, $\partial L/\partial\beta = \sum_s g^s$ and
# $\partial L/\partial x^r = \frac{\gamma}{B\sqrt{\sigma^2+\epsilon}}\left(B g^r - \partial L/\partial\beta - \hat{x}^r \partial L/\partial\gamma\right)$.
# `torch.autograd.gradcheck` compares it with finite differences in float64:

# %%
x = torch.randn(16, 5, dtype=torch.float64, requires_grad=True)
gamma = torch.rand(5, dtype=torch.float64, requires_grad=True) + 0.5
beta = torch.randn(5, dtype=torch.float64, requires_grad=True)
print("hand-written backward passes gradcheck:", torch.autograd.gradcheck(BatchNormFunction.apply, (x, gamma, beta)))

# %% [markdown]
# ## The three modules side by side
#
# Same input, same upstream gradient: outputs, every gradient and the running statistics
# should agree with torch's to float32 round-off, in training mode and then in evaluation mode.

# %%
torch.manual_seed(0)
forms = {"torch": torch.nn.BatchNorm1d(5), "autograd": BatchNormAutograd(5), "function": BatchNormFunctional(5)}
x = torch.randn(32, 5) * 3 + 1
upstream = torch.randn(32, 5)
gamma, beta = torch.rand(5) + 0.5, torch.randn(5)  # the same non-trivial scale and shift for all three


def scale_and_shift(module):
    """torch calls them weight and bias; the study's modules, gamma and beta."""
    return (module.weight, module.bias) if isinstance(module, torch.nn.BatchNorm1d) else (module.gamma, module.beta)


results = {}
for name, module in forms.items():
    scale, shift = scale_and_shift(module)
    with torch.no_grad():
        scale.copy_(gamma), shift.copy_(beta)
    inputs = x.clone().requires_grad_()
    out = module.train()(inputs)
    out.backward(upstream)
    results[name] = (out, inputs.grad, scale.grad, shift.grad, module.running_mean, module.running_var,
                     module.eval()(x))

labels = ("output", "dL/dx", "dL/dgamma", "dL/dbeta", "running mean", "running var", "eval output")
for name in ("autograd", "function"):
    worst = {label: (mine - theirs).abs().max().item()
             for label, mine, theirs in zip(labels, results[name], results["torch"])}
    print(f"{name:9s} vs torch, largest difference: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    assert max(worst.values()) < 1e-4, name

# %% [markdown]
# ## Training with each form
#
# The study's MLP (`--batch-norm` picks the form). The three runs start from the same seed,
# so their curves should lie on top of each other, up to float32 round-off.

# %%
runs = {form: cifarlab.train("mlp", data=DATA, batch_norm=form, steps=STEPS, eval_every=max(STEPS // 6, 1))
        for form in ("torch", "autograd", "function")}

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for form, run in runs.items():
    rows = run.history
    ax.plot([r["step"] for r in rows], [r["test_accuracy"] for r in rows], marker="o", label=form)
ax.set(xlabel="step", ylabel="test accuracy", title="the study's MLP with batch norm, three ways")
ax.legend();

# %%
{form: round(run.metrics["test_accuracy"], 4) for form, run in runs.items()}
