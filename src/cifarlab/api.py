"""cifarlab from Python (a notebook, a script), on the command line's own code path.

    import cifarlab
    run = cifarlab.train("mlp", data="../shared/data/cifar10-jpeg.tar.gz", steps=300)
    run.plot(); run.metrics

Options are named as the flags (`batch_size=250`, `hidden=(500, 500)`), with `preset=` and
`config=` as on the command line; mistakes raise CifarlabError with the CLI's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.errors import CifarlabError


@dataclass(frozen=True)
class Run:
    """A run directory written by `cifarlab train` (or `cifarlab.train`)."""

    dir: Path

    @property
    def config(self):
        """The run's recipe: its model's config dataclass."""
        from cifarlab.inference.reload import load_run

        return load_run(self.dir)[1]

    @property
    def metrics(self) -> dict:
        """The final metrics (metrics.json); empty while the run has not finished."""
        from cifarlab.rundir.files import read_json

        return read_json(self.dir / "metrics.json") if (self.dir / "metrics.json").is_file() else {}

    @property
    def history(self) -> list[dict]:
        """The learning curves, one row per evaluation (step, accuracies, losses, lr, seconds)."""
        from dataclasses import asdict

        from cifarlab.rundir.files import read_history

        columns = {name: values for name, values in asdict(read_history(self.dir)).items() if values}
        return [dict(zip(columns, row)) for row in zip(*columns.values())]

    def plot(self):
        """The learning curves as a matplotlib Figure (a notebook shows it inline)."""
        from cifarlab.report.notebook_display import show_once
        from cifarlab.rundir.curves import curves_figure
        from cifarlab.rundir.files import read_history
        from cifarlab.rundir.logs import StepLog

        name = self.dir.name
        figure = curves_figure({name: read_history(self.dir)}, name, {name: StepLog.read(self.dir)})
        show_once(figure)  # in a notebook: shown now, wherever the call stands in its cell
        return figure

    def evaluate(self, device: str = "auto", data: str | None = None) -> dict:
        """Reload the saved weights and measure test, train-sample (and validation) metrics again."""
        from cifarlab.inference.reload import evaluate_run

        return evaluate_run(self.dir, data, device, progress=False).metrics

    def predict(self, images, device: str = "auto") -> np.ndarray:
        """Class probabilities (N, classes) of uint8 images (N, 32, 32, 3), or of image files of any
        size (paths), prepared as the run's training images were."""
        from cifarlab.data.image_files import load_image_32
        from cifarlab.inference.reload import predict_images

        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
                raise CifarlabError(f"images must be uint8 (N, 32, 32, 3), got {images.dtype} {images.shape}")
            pixels = images
        else:
            pixels = np.stack([load_image_32(Path(path))[0] for path in images])
        return predict_images(self.dir, pixels, device)[2]

    def show(self, device: str = "auto", data: str | None = None) -> list[Path]:
        """Draw what the network learned (first_layer.png, saliency.png in the run directory)."""
        from cifarlab.report.pictures import draw_run

        return draw_run(self.dir, data, device)

    def confusion_matrix(self, device: str = "auto", data: str | None = None) -> np.ndarray:
        """(classes, classes) counts on the test set: row = true class, column = predicted."""
        from cifarlab.inference.reload import evaluate_run
        from cifarlab.rundir.analysis import confusion_matrix

        evaluation = evaluate_run(self.dir, data, device, progress=False, analyse=True)
        predicted = evaluation.test_probabilities.argmax(axis=1)
        return confusion_matrix(evaluation.test_labels, predicted, len(evaluation.classes))


def train(model: str, data: str | None = None, out: str | Path | None = None, *, preset: str | None = None,
          config: str | Path | None = None, progress: bool = True, pictures: bool = True, **options) -> Run:
    """Train `model` ("numpy-mlp", "mlp", "convnet", "fastnet") as `cifarlab train` does and
    return its Run; `out` defaults to runs/<model>-<date>-<time>; `pictures=False` as --no-pictures."""
    from cifarlab.rundir.files import default_run_dir
    from cifarlab.training.resolve import resolve
    from cifarlab.training.run import train_run

    cfg, runtime = resolve(model, options, preset=preset, config_file=Path(config) if config else None)
    run_dir = Path(out) if out else default_run_dir(model)
    train_run(model, cfg, run_dir, data, runtime, progress=progress, pictures=pictures)
    return Run(run_dir)


def load(run_dir: str | Path) -> Run:
    """The run in `run_dir`."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise CifarlabError(f"{run_dir} is not a cifarlab run directory (no config.json)")
    return Run(run_dir)


def load_data(data: str | None = None):
    """CIFAR-10 as uint8 arrays: `.train_images` (N, 32, 32, 3), `.train_labels` (N,), the same
    for test, and `.classes`; the source chosen as for --data."""
    from cifarlab.data.store import load_cifar10

    return load_cifar10(data, progress=False)
