"""Tiny, learnable stand-ins for CIFAR-10, and writers for every supported on-disk form.

Tests and smoke runs use these instead of the real data: each class is a fixed random
colour pattern plus noise, so a model can learn it in a few steps.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from cifarlab.data.sources import PYTHON_META, PYTHON_TEST_BATCH, PYTHON_TRAIN_BATCHES, CifarData

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def make_synthetic(train_per_class: int = 10, test_per_class: int = 4, classes=CIFAR10_CLASSES,
                   noise: float = 40.0, seed: int = 0) -> CifarData:
    """Images (N, 32, 32, 3) uint8: class prototype + Gaussian noise of std `noise` grey levels."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(40, 215, size=(len(classes), 32, 32, 3))

    def split(per_class):
        labels = np.repeat(np.arange(len(classes)), per_class)
        images = prototypes[labels] + rng.normal(0, noise, size=(len(labels), 32, 32, 3))
        return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels.astype(np.int64)

    return CifarData(*split(train_per_class), *split(test_per_class), classes=tuple(classes), source="synthetic")


def write_python_batches(data: CifarData, directory: Path) -> Path:
    """Write the official pickled-batch layout (train split spread over 5 batches)."""
    directory.mkdir(parents=True, exist_ok=True)

    def dump(name, images, labels):
        rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # planar R, G, B rows
        blob = {b"data": rows, b"labels": [int(v) for v in labels], b"batch_label": name.encode()}
        (directory / name).write_bytes(pickle.dumps(blob))

    parts = np.array_split(np.arange(len(data.train_labels)), len(PYTHON_TRAIN_BATCHES))
    for name, part in zip(PYTHON_TRAIN_BATCHES, parts):
        dump(name, data.train_images[part], data.train_labels[part])
    dump(PYTHON_TEST_BATCH, data.test_images, data.test_labels)
    meta = {b"label_names": [c.encode() for c in data.classes], b"num_cases_per_batch": len(parts[0])}
    (directory / PYTHON_META).write_bytes(pickle.dumps(meta))
    return directory


def write_image_folder(data: CifarData, root: Path, suffix: str = ".png") -> Path:
    """Write train/<class>/NNNN<suffix> and test/<class>/NNNN<suffix> with Pillow."""
    from PIL import Image

    for split, images, labels in (("train", data.train_images, data.train_labels),
                                  ("test", data.test_images, data.test_labels)):
        counters: dict[int, int] = {}
        for image, label in zip(images, labels):
            index = counters[int(label)] = counters.get(int(label), -1) + 1
            folder = root / split / data.classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:04d}{suffix}")
    return root


def tar_directory(directory: Path, archive: Path, arcname: str | None = None) -> Path:
    """Pack `directory` into a .tar.gz whose top entry is `arcname` ('' = contents at the top)."""
    with tarfile.open(archive, "w:gz") as tar:
        if arcname:
            tar.add(directory, arcname=arcname)
        else:
            for child in sorted(directory.iterdir()):
                tar.add(child, arcname=child.name)
    return archive
