"""What a network learned, as pictures: its first layer's weights seen as images, and which
pixels its decisions depend on (input-gradient saliency).

- An MLP's first layer: each hidden unit's 3072 weights are a 32x32 colour template, the
  image that excites the unit most (for a given input norm).
- A ConvNet's first convolution: each filter is a small colour patch. fastnet's first layer is
  its fixed whitening convolution: the 2x2 patches are the eigenvectors of the training images'
  patch covariance, scaled by 1/sqrt(eigenvalue), so they show what whitening amplifies. Its
  first trained convolution reads the 24 whitened channels; composed with the whitening it is
  a 4x4 colour filter (its linear part: the GELU between the two taken as linear), drawn as the
  image patch it responds to most (the filter times the patches' covariance).
- Saliency: |d logit(true class) / d pixel|, its largest channel, for a few test images of each
  class: bright where a small change of the pixel would move the decision most.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_TILES = 100


def first_layer_tiles(model: str, learner) -> tuple[np.ndarray, str]:
    """(tiles (N, h, w, 3) float, what they are) of a reloaded run's first layer."""
    if model == "numpy-mlp":
        weights = learner.model.parameters()["0.weight"]  # (units, 3072), inputs flattened from (32, 32, 3)
        return weights.reshape(-1, 32, 32, 3), "first-layer weights of each hidden unit, as 32x32 colour templates"
    import torch

    torch_model = learner.model
    if model == "fastnet":
        weights = torch_model.whiten.weight.detach().cpu().numpy()[:12]  # the other 12 are their negatives
        title = "the whitening layer's 2x2 patches (patch eigenvectors / sqrt(eigenvalue))"
        return weights.transpose(0, 2, 3, 1), title
    first = next(m for m in torch_model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
    weights = first.weight.detach().float().cpu().numpy()
    if weights.ndim == 2:  # the torch MLP: inputs flattened from (3, 32, 32)
        return weights.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), "first-layer weights as 32x32 colour templates"
    return weights.transpose(0, 2, 3, 1), f"first convolution's {weights.shape[-1]}x{weights.shape[-1]} filters"


def filters_through_whitening(fastnet) -> np.ndarray:
    """fastnet's first trained 3x3 convolution (over the whitened channels) composed with the 2x2
    whitening convolution: (filters, 4, 4, 3). A 4x4 valid convolution with these equals the two
    valid convolutions in a row, without biases and with the GELU between them left out."""
    import torch

    whiten = fastnet.whiten.weight.detach().double().cpu().numpy()  # (24, 3, 2, 2)
    first = next(m for m in fastnet.blocks.modules() if isinstance(m, torch.nn.Conv2d))
    weights = first.weight.detach().double().cpu().numpy()  # (filters, 24, 3, 3)
    composed = np.zeros((len(weights), whiten.shape[1], 4, 4))
    for row, column in np.ndindex(3, 3):
        for down, right in np.ndindex(2, 2):  # input pixel (row + down, column + right) of the 4x4 window
            composed[:, :, row + down, column + right] += weights[:, :, row, column] @ whiten[:, :, down, right]
    return composed.transpose(0, 2, 3, 1)


def preferred_patches(filters: np.ndarray, images: np.ndarray, count: int = 500) -> np.ndarray:
    """For each (h, w, 3) filter, the image patch it responds to most among patches of the same
    power as the images': the filter times the patches' covariance (from `count` of `images`,
    (N, 3, H, W) as the network sees them). The weights themselves look like colour noise: the
    whitening before them amplifies exactly the rare, high-frequency patterns."""
    size = filters.shape[1]
    chosen = images[:count]
    windows = np.lib.stride_tricks.sliding_window_view(chosen, (size, size), axis=(2, 3))[:, :, ::2, ::2]
    patches = windows.transpose(0, 2, 3, 4, 5, 1).reshape(-1, size * size * 3)  # (patches, h*w*3), (h, w, c) order
    covariance = np.cov(patches.astype(np.float64), rowvar=False)
    return (filters.reshape(len(filters), -1) @ covariance).reshape(filters.shape)


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


def saliency(model: str, learner, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """|d logit(label) / d input| of each image, its largest channel: (N, 32, 32)."""
    if model == "numpy-mlp":
        from cifarlab.training.numpy_learner import build_numpy_mlp

        network = build_numpy_mlp(learner.cfg, n_out=learner.classes, input_grad=True)  # the same net, with dL/dx
        network.load({**learner.model.parameters(), **learner.model.buffers()})
        network.eval()
        logits = network.forward(inputs)
        picked = np.zeros_like(logits)
        picked[np.arange(len(labels)), labels] = 1.0
        return np.abs(network.backward(picked)).reshape(-1, 32, 32, 3).max(axis=-1)
    import torch

    learner.model.eval()
    x = torch.from_numpy(np.ascontiguousarray(inputs)).to(learner.device).requires_grad_(True)
    logits = learner.model(x).float()
    logits[torch.arange(len(labels)), torch.from_numpy(labels).to(logits.device)].sum().backward()
    return x.grad.abs().amax(dim=1).cpu().numpy()


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


def write_pictures(run_dir: Path, model: str, learner, raw_test_images: np.ndarray, test_inputs: np.ndarray,
                   test_labels: np.ndarray, classes, per_class: int = 2) -> list[Path]:
    """first_layer.png, for fastnet first_filters.png, and saliency.png (`per_class` test images
    of each class) in run_dir, and the same pictures in its TensorBoard log."""
    from cifarlab.rundir.analysis import png_bytes
    from cifarlab.rundir.logs import add_pictures
    from cifarlab.rundir.files import atomic_write_bytes

    tiles, what = first_layer_tiles(model, learner)
    chosen = np.concatenate([np.flatnonzero(test_labels == c)[:per_class] for c in range(len(classes))])
    maps = saliency(model, learner, test_inputs[chosen], test_labels[chosen])
    pictures = {"first_layer.png": tiles_figure(tiles, f"{run_dir.name}: {what}")}
    if model == "fastnet":
        patches = preferred_patches(filters_through_whitening(learner.model), test_inputs)
        pictures["first_filters.png"] = tiles_figure(
            patches, f"{run_dir.name}: first trained convolution through the whitening: the 4x4 image patch "
                     f"each filter responds to most (its weights x the patch covariance)")
    pictures |= {"saliency.png": saliency_figure(raw_test_images[chosen], maps, test_labels[chosen], classes,
                                                f"{run_dir.name}: input-gradient saliency of the true class's logit")}
    drawn = {name: png_bytes(figure) for name, figure in pictures.items()}
    for name, png in drawn.items():
        atomic_write_bytes(run_dir / name, png)
    add_pictures(run_dir, {name.removesuffix(".png"): png for name, png in drawn.items()})  # TensorBoard too
    return [run_dir / name for name in pictures]


def draw_run(run_dir: Path, data: str | None = None, device: str = "auto", threads: int = 0) -> list[Path]:
    """Reload the run in run_dir and write its first_layer.png and saliency.png (the test images
    prepared as its training images were; `data`: the source, default the run's own)."""
    from cifarlab.data.store import load_cifar10
    from cifarlab.training.run import prepare_for
    from cifarlab.inference.reload import reload_learner
    from cifarlab.process.settings import torch_threads

    with torch_threads(threads):
        model, cfg, record, learner, _ = reload_learner(run_dir, device, threads)
        raw = load_cifar10(data or record["data_source"], progress=False)  # read once: raw and prepared
        prepared = prepare_for(model, cfg, raw)
        return write_pictures(run_dir, model, learner, raw.test_images, prepared.test.x, prepared.test.y,
                              prepared.classes)
