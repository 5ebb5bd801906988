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
# # 1. The NumPy engine: one layer by hand, a gradient check, the study's run
#
# cifarlab's first engine is plain NumPy: every module has a `forward` and a hand-derived
# `backward`. This notebook takes one layer apart, checks its gradients against finite
# differences, then trains the study's MLP and draws its learning curves.
# It runs top to bottom on a 2-core CPU in about a minute.

# %% tags=["parameters"]
DATA = "../../shared/data/cifar10-jpeg.tar.gz"  # the CIFAR-10 source (docs/data.md); None: $CIFARLAB_DATA or the official download
STEPS = None  # None: the study's whole run; a number of steps for a quicker look

# %%
import numpy as np

import cifarlab
from cifarlab.numpy_nn.gradcheck import check_all, check_module
from cifarlab.numpy_nn.linear import Linear

# %% [markdown]
# ## A linear layer, forward and backward
#
# `Linear` computes $\tilde{x} = x W^\top + b$. Given $g = \partial L / \partial \tilde{x}$ from the
# layer above, its backward pass stores $\partial L/\partial W = g^\top x$ and
# $\partial L/\partial b = \sum_i g_i$ and returns $\partial L/\partial x = g W$.

# %%
rng = np.random.default_rng(0)
layer = Linear(4, 3, rng, dtype=np.float64)
x = rng.standard_normal((2, 4))          # a batch of two inputs with four features
out = layer.forward(x)                   # (2, 3)
g = rng.standard_normal(out.shape)       # pretend this came from the loss above
grad_x = layer.backward(g)

W = layer.params["weight"]
print("dL/dx matches g W:      ", np.allclose(grad_x, g @ W))
print("dL/dW matches g^T x:    ", np.allclose(layer.grads["weight"], g.T @ x))
print("dL/db matches sum of g: ", np.allclose(layer.grads["bias"], g.sum(axis=0)))
assert np.allclose(grad_x, g @ W) and np.allclose(layer.grads["weight"], g.T @ x)

# %% [markdown]
# ## The gradient check
#
# Those formulas are only as good as their derivation. A central difference
# $(L(w + h) - L(w - h)) / 2h$ estimates each derivative without any calculus; the relative
# error between the two should be around $10^{-8}$ or below in float64.

# %%
result = check_module(layer, x, "Linear")
print(result.errors)

# %%
for result in check_all():  # every module of the engine, and two whole MLPs
    print(f"{result.name:32s} max relative error {result.max_error:.1e}  {'ok' if result.passed() else 'FAILED'}")
    assert result.passed(), result.name

# %% [markdown]
# ## The study's run
#
# `cifarlab.train` is `cifarlab train` from Python: the same options (named as the flags),
# the same checks, a run directory with everything it measured.

# %%
run = cifarlab.train("numpy-mlp", data=DATA, **({"steps": STEPS} if STEPS else {}))
run.plot()

# %%
run.metrics

# %%
run.config
