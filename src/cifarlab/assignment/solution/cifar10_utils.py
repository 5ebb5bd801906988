"""CIFAR-10 for the training scripts: the study's pipeline, in NumPy.

Images become float32 on the 0-255 scale, minus the training set's mean image (the mean
of each of the 3,072 values over the training images); labels become one-hot rows.

`data_path` is either the official python-format folder (`cifar-10-batches-py`, from
cifar-10-python.tar.gz) or an .npz file with uint8 arrays x_train, x_test (N, 32, 32, 3)
and integer arrays y_train, y_test (cifarlab writes one: `cifarlab assignment new DIR --data SRC`).
"""

import json
import os
import pickle

import numpy as np

N_CLASSES = 10


class DataSet:
    """Images (N, 3, 32, 32) float32 and one-hot labels (N, 10), served in shuffled epochs."""

    def __init__(self, images, labels, seed=0):
        self.images, self.labels = images, labels
        self._rng = np.random.default_rng(seed)
        self._order, self._position = self._rng.permutation(len(images)), 0

    def next_batch(self, batch_size):
        """The next `batch_size` images and labels; a new shuffled epoch starts when one runs out."""
        if self._position + batch_size > len(self.images):
            self._order, self._position = self._rng.permutation(len(self.images)), 0
        chosen = self._order[self._position:self._position + batch_size]
        self._position += batch_size
        return self.images[chosen], self.labels[chosen]


def _read_official_folder(folder):
    def read(name):
        with open(os.path.join(folder, name), "rb") as file:
            batch = pickle.load(file, encoding="latin1")
        images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, np.asarray(batch["labels"])

    train = [read(f"data_batch_{index}") for index in range(1, 6)]
    x_test, y_test = read("test_batch")
    return (np.concatenate([images for images, _ in train]), np.concatenate([labels for _, labels in train]),
            x_test, y_test)


def _read_npz(path):
    with np.load(path) as arrays:
        return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def get_cifar10(data_path, seed=0):
    """{'train': DataSet, 'test': DataSet} through the study's pipeline (module docstring)."""
    if os.path.isdir(data_path):
        x_train, y_train, x_test, y_test = _read_official_folder(data_path)
    elif os.path.isfile(data_path):
        x_train, y_train, x_test, y_test = _read_npz(data_path)
    else:
        raise SystemExit(f"no CIFAR-10 data at {data_path!r}: give the cifar-10-batches-py folder or an .npz file")
    mean_image = x_train.astype(np.float64).mean(axis=0).astype(np.float32)

    def pipeline(images, labels, split_seed):
        images = (images.astype(np.float32) - mean_image).transpose(0, 3, 1, 2)
        return DataSet(np.ascontiguousarray(images), np.eye(N_CLASSES, dtype=np.float32)[labels], split_seed)

    return {"train": pipeline(x_train, y_train, seed), "test": pipeline(x_test, y_test, seed + 1)}


def save_curves(curves, out):
    """Learning curves (name -> values per evaluation) to out/curves.npz, the last values to out/results.json."""
    os.makedirs(out, exist_ok=True)
    np.savez(os.path.join(out, "curves.npz"), **{name: np.asarray(values) for name, values in curves.items()})
    final = {name: float(values[-1]) for name, values in curves.items()}
    temporary = os.path.join(out, "results.json.tmp")
    with open(temporary, "w") as file:
        json.dump(final, file, indent=1)
    os.replace(temporary, os.path.join(out, "results.json"))  # never a half-written file
