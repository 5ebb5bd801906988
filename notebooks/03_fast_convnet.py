# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. The fast ConvNet: a cpu85 run, its mistakes and its first layer
#
# `fastnet` is a small modern ConvNet (whitening layer, GELU, batch norm, Muon for the filters,
# test-time augmentation). Its `cpu85` preset reached 86.06 % test accuracy in 60.8 s on a 2-core
# Intel Xeon with native bf16 (in its earlier form, 3.25 epochs in batches of 1000) and 85.84 % in
# 223.9 s on a 2-core AMD EPYC without it (the README's presets table and benchmarks/RESULTS.md give
# each measured time with its CPU model).
# Here we train it, look at which classes it confuses, at the images it gets most confidently
# wrong, and at what its first layer learned.

# %% tags=["parameters"]
DATA = "../../shared/data/cifar10-jpeg.tar.gz"  # the CIFAR-10 source (docs/data.md); None: $CIFARLAB_DATA or the official download
OPTIONS = {}  # further options of the run, named as the flags, e.g. {"steps": 50} for a quick look

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import cifarlab
from cifarlab.rundir.analysis import most_confident_mistakes

# %%
run = cifarlab.train("fastnet", data=DATA, preset="cpu85", **OPTIONS)
run.metrics

# %% [markdown]
# ## Which classes it confuses
#
# Row: the true class; column: the predicted one. Cats and dogs are the classic pair.

# %%
data = cifarlab.load_data(DATA)
matrix = run.confusion_matrix()
fig, ax = plt.subplots(figsize=(6, 5))
ax.imshow(matrix, cmap="Blues")
ax.set_xticks(range(len(data.classes)), data.classes, rotation=60)
ax.set_yticks(range(len(data.classes)), data.classes)
for (row, column), count in np.ndenumerate(matrix):
    ax.text(column, row, count, ha="center", va="center", fontsize=7,
            color="white" if count > matrix.max() / 2 else "black")
ax.set(xlabel="predicted", ylabel="true", title=f"test accuracy {np.trace(matrix) / matrix.sum():.1%}");

# %% [markdown]
# ## Its most confident mistakes
#
# `run.predict` takes uint8 images (or image files) and returns class probabilities, prepared
# as the training images were.

# %%
probabilities = run.predict(data.test_images)
wrong = most_confident_mistakes(probabilities, data.test_labels, 12)
fig, axes = plt.subplots(2, 6, figsize=(10, 4))
for ax, index in zip(axes.flat, wrong):
    guess = probabilities[index].argmax()
    ax.imshow(data.test_images[index])
    ax.set_title(f"{data.classes[data.test_labels[index]]}\nas {data.classes[guess]} "
                 f"{probabilities[index, guess]:.0%}", fontsize=8)
    ax.axis("off")
for ax in axes.flat[len(wrong):]:
    ax.axis("off")

# %% [markdown]
# ## What the first layer learned
#
# `run.show()` writes three pictures into the run directory: fastnet's first layer, the 2x2
# whitening patches (fixed from the data before training; what whitening amplifies), its first
# trained 3x3 filters seen through the whitening (for each, the 4x4 image patch it responds to
# most), and input-gradient saliency maps, where the loss is most sensitive to the pixels.

# %%
for picture in run.show():
    display(Image(filename=str(picture)))
