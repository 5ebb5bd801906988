"""What a network learned, as pictures: its first layer's weights seen as images, and which
pixels its decisions depend on (input-gradient saliency).

Each learner supplies its own tiles and gradients (`layer_pictures`, `saliency`: the NumPy MLP
in training/numpy_learner.py, any torch model in training/torch_learner.py, fastnet's whitening
in training/fastnet/pictures.py), so a new model touches only its own files; this module draws.

- An MLP's first layer: each hidden unit's 3072 weights are a 32x32 colour template, the
  image that excites the unit most (for a given input norm).
- A ConvNet's first convolution: each filter is a small colour patch.
- Saliency: |d logit(true class) / d pixel|, its largest channel, for a few test images of each
  class: bright where a small change of the pixel would move the decision most.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_TILES = 100


def tiles_figure(tiles: np.ndarray, title: str):
    """A grid of colour tiles, each stretched to its own full range (the sign is kept: grey = 0)."""
    from matplotlib.figure import Figure

    tiles = tiles[:MAX_TILES]
    columns = min(10, len(tiles))
    rows = -(-len(tiles) // columns)
    figure = Figure(figsize=(1.2 * columns, 1.2 * rows + 0.6), layout="constrained")
    figure.suptitle(title, fontsize=9)
    for index, tile in enumerate(tiles):
        axis = figure.add_subplot(rows, columns, index + 1)
        scale = np.abs(tile).max() or 1.0
        axis.imshow(0.5 + 0.5 * tile / scale, interpolation="nearest")
        axis.set_axis_off()
    return figure


def saliency_figure(images: np.ndarray, maps: np.ndarray, labels: np.ndarray, classes, title: str):
    """A column per class: each of its images (uint8 (32, 32, 3)) above its saliency map."""
    from matplotlib.figure import Figure

    columns = len(classes)
    per_class = -(-len(images) // columns)
    figure = Figure(figsize=(1.2 * columns, 2.4 * per_class + 0.5))
    figure.suptitle(title, fontsize=9)
    seen = [0] * columns
    for image, saliency_map, label in zip(images, maps, labels):
        row = 2 * seen[label]
        seen[label] += 1
        top = figure.add_subplot(2 * per_class, columns, row * columns + label + 1)
        top.imshow(image, interpolation="nearest")
        if row == 0:
            top.set_title(classes[label], fontsize=8)
        bottom = figure.add_subplot(2 * per_class, columns, (row + 1) * columns + label + 1)
        bottom.imshow(saliency_map / (saliency_map.max() or 1.0), cmap="inferno", interpolation="nearest")
        for axis in (top, bottom):
            axis.set_axis_off()
    return figure


def write_pictures(run_dir: Path, learner, raw_test_images: np.ndarray, test_inputs: np.ndarray,
                   test_labels: np.ndarray, classes, per_class: int = 2) -> list[Path]:
    """first_layer.png (and whatever other layer pictures the learner has: fastnet's
    first_filters.png) and saliency.png (`per_class` test images of each class) in run_dir, and
    the same pictures in its TensorBoard log."""
    from cifarlab.rundir.analysis import png_bytes
    from cifarlab.rundir.files import atomic_write_bytes
    from cifarlab.rundir.logs import add_pictures

    chosen = np.concatenate([np.flatnonzero(test_labels == c)[:per_class] for c in range(len(classes))])
    maps = learner.saliency(test_inputs[chosen], test_labels[chosen])
    pictures = {f"{name}.png": tiles_figure(tiles, f"{run_dir.name}: {what}")
                for name, (tiles, what) in learner.layer_pictures(test_inputs).items()}
    pictures["saliency.png"] = saliency_figure(raw_test_images[chosen], maps, test_labels[chosen], classes,
                                               f"{run_dir.name}: input-gradient saliency of the true class's logit")
    drawn = {name: png_bytes(figure) for name, figure in pictures.items()}
    for name, png in drawn.items():
        atomic_write_bytes(run_dir / name, png)
    add_pictures(run_dir, {name.removesuffix(".png"): png for name, png in drawn.items()})  # TensorBoard too
    return [run_dir / name for name in pictures]


def draw_run(run_dir: Path, data: str | None = None, device: str = "auto", threads: int = 0) -> list[Path]:
    """Reload the run in run_dir and write its first_layer.png and saliency.png (the test images
    prepared as its training images were; `data`: the source, default the run's own)."""
    from cifarlab.data.store import load_cifar10
    from cifarlab.inference.reload import reload_learner
    from cifarlab.process.settings import torch_threads
    from cifarlab.training.run import prepare_for

    with torch_threads(threads):
        model, cfg, record, learner, _ = reload_learner(run_dir, device, threads)
        raw = load_cifar10(data or record["data_source"], progress=False)  # read once: raw and prepared
        prepared = prepare_for(model, cfg, raw)
        return write_pictures(run_dir, learner, raw.test_images, prepared.test.x, prepared.test.y, prepared.classes)
