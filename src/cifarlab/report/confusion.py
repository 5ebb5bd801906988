"""Where a classifier goes wrong: per-class accuracy, the confusion matrix, and the test
images it is most confidently wrong about. Pure functions of predictions, plus figures."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from cifarlab.train.rundir import atomic_write_bytes


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) int64 counts: row = true class, column = predicted class."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each true class (its row's diagonal share); NaN for a class with no images."""
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.full(len(matrix), np.nan), where=totals > 0)


def most_confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k wrong predictions with the highest predicted probability, highest first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:k]]


def per_class_table(matrix: np.ndarray, class_names) -> str:
    """Markdown: each class's test images, correct ones and accuracy."""
    accuracy = per_class_accuracy(matrix)
    rows = ["| class | images | correct | accuracy |", "|---|---|---|---|"]
    for index, name in enumerate(class_names):
        rows.append(f"| {name} | {matrix[index].sum()} | {matrix[index, index]} | {accuracy[index]:.2%} |")
    return "\n".join(rows)


def write_per_class_csv(path: Path, matrix: np.ndarray, class_names) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["class", "images", "correct", "accuracy", *[f"predicted_{name}" for name in class_names]])
    for index, name in enumerate(class_names):
        writer.writerow([name, matrix[index].sum(), matrix[index, index], per_class_accuracy(matrix)[index],
                         *matrix[index]])
    atomic_write_bytes(path, text.getvalue().encode())


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def plot_confusion(path: Path, matrix: np.ndarray, class_names, title: str = "") -> Path:
    atomic_write_bytes(path, confusion_png(matrix, class_names, title))
    return path


def confusion_png(matrix: np.ndarray, class_names, title: str = "") -> bytes:
    """Rows normalised to the true class's images, each cell labelled with its count."""
    from matplotlib.figure import Figure

    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(7.5, 6.5))
    axis = figure.subplots()
    image = axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7,
                  color="white" if share[row, column] > 0.5 else "black")
    ticks = range(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(ticks, class_names, fontsize=8)
    axis.set(xlabel="predicted class", ylabel="true class", title=title or "Confusion matrix (test set)")
    figure.colorbar(image, ax=axis, label="share of the true class")
    figure.tight_layout()
    return png_bytes(figure)


def mistakes_png(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, indices: np.ndarray,
                 class_names, columns: int = 8) -> bytes:
    """A grid of test images (uint8 (N, 32, 32, 3)), each titled with its true and predicted
    class and the predicted probability."""
    from matplotlib.figure import Figure

    rows = max(1, -(-len(indices) // columns))
    figure = Figure(figsize=(1.6 * columns, 2.1 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for axis in axes:
        axis.axis("off")
    for axis, index in zip(axes, indices):
        predicted = int(probabilities[index].argmax())
        axis.imshow(images[index], interpolation="nearest")
        axis.set_title(f"true {class_names[labels[index]]}\npred {class_names[predicted]} "
                       f"{probabilities[index, predicted]:.0%}", fontsize=7)
    figure.suptitle(f"The {len(indices)} most confident mistakes on the test set", fontsize=10)
    figure.tight_layout()
    return png_bytes(figure)
