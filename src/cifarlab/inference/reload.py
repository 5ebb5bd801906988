"""Reading a finished (or interrupted) run directory back: its config, its learner with the
saved weights on a runtime chosen here, and its metrics measured again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.data.preprocess import Normalization
from cifarlab.data.store import load_cifar10
from cifarlab.errors import CifarlabError
from cifarlab.process.settings import torch_threads
from cifarlab.rundir.files import read_json
from cifarlab.training.configs import config_from_dict
from cifarlab.training.loop import evaluate_splits, train_eval_indices
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.run import load_prepared, prepare_for
from cifarlab.training.runtime import Runtime, auto_as_saved, for_reloading, runtime_from_dict

# Re-measured on another device or precision, a run's accuracy moves by float rounding only:
# a few predictions near a tie flip. More than this is a real difference.
OTHER_RUNTIME_TOLERANCE = 0.005


def load_run(run_dir: Path):
    """(model name, config, run record) of a saved run."""
    if not run_dir.is_dir():
        raise CifarlabError(f"run directory {run_dir} does not exist")
    record = read_json(run_dir / "config.json")
    entry = get_model(record.get("model", "?"))
    try:
        return record["model"], config_from_dict(entry.config_cls, record["config"]), record
    except (TypeError, ValueError) as exc:
        raise CifarlabError(f"{run_dir}/config.json holds a config this version cannot use ({exc})") from None


def saved_runtime(record: dict) -> Runtime | None:
    """The runtime a run trained on (runs saved before the split kept it in the config)."""
    if not get_model(record["model"]).takes_runtime:
        return None
    return runtime_from_dict(record.get("runtime") or record["config"])


def where(runtime: Runtime | None, device_type: str | None = None) -> str:
    """'cuda bf16', 'cpu fp32', ... ('cpu' for the NumPy engine); a saved "auto" as it meant then."""
    if runtime is None:
        return "cpu"
    device = device_type or runtime.device
    precision = runtime.precision if runtime.precision != "auto" else auto_as_saved(device)
    return f"{device} {precision}"


def reload_learner(run_dir: Path, device: str = "auto", threads: int = 0):
    """(model name, config, record, learner with the run's latest weights, where it runs) on `device`."""
    model, cfg, record = load_run(run_dir)
    saved = saved_runtime(record)
    runtime = for_reloading(saved, device=device, threads=threads) if saved else None
    shape = DataShape(len(record["classes"]), record.get("train_size", 50000 - cfg.val_size))
    learner = get_model(model).make_learner(cfg, shape, runtime)
    weights = run_dir / learner.weights_name
    if not weights.exists():
        raise CifarlabError(f"{weights} not found: the run has not reached its first evaluation")
    learner.load(weights)
    return model, cfg, record, learner, where(runtime, learner.device.type if runtime else None)


def saved_normalization(run_dir: Path, record: dict) -> Normalization:
    """The input pipeline a run was trained with, with its training-split statistics."""
    saved = record["normalization"]
    pipeline = saved.get("pipeline", "standardize")  # runs saved before the choice standardised
    if pipeline == "course":
        path = run_dir / saved["mean_image"]
        if not path.is_file():
            raise CifarlabError(f"{path} not found: the run's mean image is needed to prepare its inputs")
        try:
            return Normalization("course", np.load(path, allow_pickle=False))
        except (OSError, ValueError, EOFError) as exc:
            raise CifarlabError(f"cannot read {path} ({type(exc).__name__}: {exc})") from None
    return Normalization(pipeline, np.float32(saved["mean"]), np.float32(saved["std"]))


def predict_images(run_dir: Path, images: np.ndarray, device: str = "auto", threads: int = 0):
    """(model name, class names, probabilities (N, classes)) of uint8 images (N, 32, 32, 3),
    prepared as the run's training images were."""
    from cifarlab.data.preprocess import model_inputs

    with torch_threads(threads):  # --threads for this call only
        model, _, record, learner, _ = reload_learner(run_dir, device, threads)
        inputs = model_inputs(images, saved_normalization(run_dir, record), get_model(model).layout)
        return model, record["classes"], learner.probabilities(inputs)


@dataclass(frozen=True)
class Evaluation:
    """A saved run measured again."""

    metrics: dict  # {split}_accuracy, {split}_loss, eval_seconds
    trained_on: str  # see `where`
    evaluated_on: str
    classes: tuple[str, ...]
    test_labels: np.ndarray  # (N,) int64
    test_probabilities: np.ndarray | None  # (N, classes) float, with `analyse`
    data_source: str
    learner: object  # kept, with the two below, so that pictures need not reload the run and its data
    test_inputs: np.ndarray  # the test images prepared as the run's training images were
    raw_test_images: np.ndarray  # (N, 32, 32, 3) uint8, as the data source holds them


def evaluate_run(run_dir: Path, data: str | None = None, device: str = "auto", threads: int = 0,
                 progress: bool = True, analyse: bool = False) -> Evaluation:
    """Reload the saved weights and measure test, train-sample (and validation) metrics again;
    with `analyse`, also every test image's class probabilities."""
    with torch_threads(threads):  # --threads for this call only
        model, cfg, record, learner, evaluated_on = reload_learner(run_dir, device, threads)
        source = data or record["data_source"]
        raw = load_cifar10(source, progress=progress)
        prepared = prepare_for(model, cfg, raw)
        started = time.perf_counter()
        sample = train_eval_indices(len(prepared.train.y), cfg.train_eval_size, cfg.seed)
        metrics = {f"{split}_{kind}": value for split, pair in evaluate_splits(learner, prepared, sample).items()
                   for kind, value in zip(("accuracy", "loss"), pair)}
        metrics["eval_seconds"] = time.perf_counter() - started
        probabilities = learner.probabilities(prepared.test.x) if analyse else None
        return Evaluation(metrics, where(saved_runtime(record)), evaluated_on, tuple(prepared.classes),
                          prepared.test.y, probabilities, source, learner, prepared.test.x,
                          raw.test_images)


def test_predictions(run_dir: Path, data: str | None = None, prepared=None):
    """(class probabilities (N, classes), labels (N,), prepared data) of a saved run on the test
    set; `prepared`: data already prepared the same way, to reuse."""
    model, cfg, record, learner, _ = reload_learner(run_dir)
    if prepared is None:
        prepared, _ = load_prepared(model, cfg, data or record["data_source"], progress=False)
    return learner.probabilities(prepared.test.x), prepared.test.y, prepared


def compare_with_saved(saved: dict, measured: dict, trained_on: str, evaluated_on: str) -> tuple[bool, str]:
    """(agrees, sentence): the same device must give the same test accuracy exactly, another
    device or precision within OTHER_RUNTIME_TOLERANCE."""
    before, now = saved["test_accuracy"], measured["test_accuracy"]
    if abs(before - now) < 1e-9:
        return True, f"saved test accuracy {before:.2%}: reproduced exactly"
    if trained_on != evaluated_on and abs(before - now) <= OTHER_RUNTIME_TOLERANCE:
        return True, (f"saved test accuracy {before:.2%}, now {now:.2%} on {evaluated_on} (trained on {trained_on}): "
                      f"within the {OTHER_RUNTIME_TOLERANCE:.1%} a change of device allows")
    return False, f"saved test accuracy {before:.2%}: DIFFERS (now {now:.2%})"
