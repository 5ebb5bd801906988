"""Where a classifier goes wrong: per-class accuracy, the confusion matrix, and the test
images it is most confidently wrong about. Pure functions of predictions, the figures, and
`write_test_analysis`, which every finished run and `cifarlab evaluate` use to put them into
the run directory and its TensorBoard log."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from cifarlab.rundir.files import atomic_write_bytes
from cifarlab.rundir.logs import add_pictures

MISTAKES_SHOWN = 24  # at the end of a run: three rows of eight


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
    # axes placed by hand: tight_layout would draw the figure twice (this is drawn at every run's end)
    axis, colour_axis = figure.add_axes((0.15, 0.17, 0.68, 0.76)), figure.add_axes((0.86, 0.17, 0.03, 0.76))
    image = axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7,
                  color="white" if share[row, column] > 0.5 else "black")
    ticks = range(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(ticks, class_names, fontsize=8)
    axis.set(xlabel="predicted class", ylabel="true class", title=title or "Confusion matrix (test set)")
    figure.colorbar(image, cax=colour_axis, label="share of the true class")
    return png_bytes(figure)


def mistakes_png(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, indices: np.ndarray,
                 class_names, columns: int = 8) -> bytes:
    """A grid of test images (uint8 (N, 32, 32, 3)), each titled with its true and predicted
    class and the predicted probability. The images are laid out in one array and drawn as one
    image (a subplot each took three times as long: this is drawn at the end of every run)."""
    from matplotlib.figure import Figure

    rows = max(1, -(-len(indices) // columns))
    size, gap, title = images.shape[1], 4, 14  # pixels of the montage: image, gap, room for the title
    cell_w, cell_h = size + gap, size + title
    montage = np.full((rows * cell_h, columns * cell_w, 3), 255, np.uint8)
    figure = Figure(figsize=(1.6 * columns, 2.1 * rows))
    axis = figure.add_axes((0, 0, 1, 0.92))
    axis.axis("off")
    for place, index in enumerate(indices):
        top, left = (place // columns) * cell_h + title, (place % columns) * cell_w + gap // 2
        montage[top:top + size, left:left + size] = images[index]
        predicted = int(probabilities[index].argmax())
        axis.text(left + size / 2, top - 1, f"true {class_names[labels[index]]}\npred {class_names[predicted]} "
                  f"{probabilities[index, predicted]:.0%}", ha="center", va="bottom", fontsize=7)
    axis.imshow(montage, interpolation="nearest", aspect="auto")
    figure.suptitle(f"The {len(indices)} most confident mistakes on the test set", fontsize=10)
    return png_bytes(figure)


def write_test_analysis(run_dir: Path, probabilities: np.ndarray, labels: np.ndarray, images: np.ndarray,
                        class_names, mistakes: int = MISTAKES_SHOWN, step: int | None = None) -> tuple[np.ndarray, list[Path]]:
    """From the test set's class probabilities (N, classes), its labels and its uint8 images:
    per_class.csv, confusion_matrix.png and (`mistakes` > 0) misclassified.png, the `mistakes`
    most confident mistakes, in run_dir; the two pictures also in its TensorBoard log at `step`
    (default: the run's last), drawn once for both. Returns the confusion matrix and the paths."""
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), len(class_names))
    write_per_class_csv(run_dir / "per_class.csv", matrix, class_names)
    pictures = {"confusion_matrix": confusion_png(matrix, class_names)}
    if mistakes:
        worst = most_confident_mistakes(probabilities, labels, mistakes)
        pictures["misclassified"] = mistakes_png(images, labels, probabilities, worst, class_names)
    for name, png in pictures.items():
        atomic_write_bytes(run_dir / f"{name}.png", png)
    add_pictures(run_dir, pictures, step)
    return matrix, [run_dir / "per_class.csv", *(run_dir / f"{name}.png" for name in pictures)]
