"""From a config and a runtime to a finished run directory."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from cifarlab._version import __version__
from cifarlab.data.batches import check_batch_size
from cifarlab.data.preprocess import Normalization, PreparedData, prepare
from cifarlab.data.sources import CifarData
from cifarlab.data.store import load_cifar10, resolve_source
from cifarlab.errors import CifarlabError
from cifarlab.process.early_imports import FOR_EVERY_RUN, FOR_TORCH_RUNS, import_in_background
from cifarlab.process.settings import run_settings
from cifarlab.rundir.analysis import write_test_analysis
from cifarlab.rundir.curves import plot_histories
from cifarlab.rundir.files import atomic_save_npy, atomic_write_json, git_version, read_json, write_history
from cifarlab.rundir.logs import StepLog
from cifarlab.training.configs import config_to_dict, resolve_steps
from cifarlab.training.loop import best_path, fit
from cifarlab.training.registry import DataShape, get_model
from cifarlab.training.runtime import Runtime, native_bf16, pick_device, resolved_precision

SPLITS = ("test", "train", "val")


def load_prepared(model: str, cfg, data: str | None, progress: bool = True) -> tuple[PreparedData, Path]:
    """The data the model trains on, and the source path it came from."""
    source = resolve_source(data, progress=progress)
    return prepare_for(model, cfg, load_cifar10(source, progress=progress)), source


def prepare_for(model: str, cfg, raw: CifarData) -> PreparedData:
    """Raw CIFAR-10 prepared as `model` with `cfg` trains on it (layout, validation split, pipeline)."""
    return prepare(raw, get_model(model).layout, cfg.val_size, cfg.seed, cfg.pipeline)


def run_record(model: str, cfg, runtime: Runtime | None, prepared: PreparedData, data_source: str) -> dict:
    """config.json: what the run is (config), where it ran (runtime), and where it came from."""
    return {
        "model": model,
        "config": config_to_dict(cfg),
        "runtime": dataclasses.asdict(runtime) if runtime else None,
        "seed": cfg.seed,
        "code_version": f"cifarlab {__version__} ({git_version()})",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_source": data_source,
        "train_size": len(prepared.train.y),
        "classes": list(prepared.classes),
        "normalization": normalization_record(prepared.normalization),
    }


MEAN_IMAGE_FILE = "mean_image.npy"


def normalization_record(normalization: Normalization) -> dict:
    """What config.json says of the input pipeline; the course pipeline's (32, 32, 3) mean image
    is too long for it and goes to MEAN_IMAGE_FILE beside it (see write_normalization)."""
    if normalization.pipeline == "course":
        return {"pipeline": "course", "mean_image": MEAN_IMAGE_FILE}
    return {"pipeline": normalization.pipeline, "mean": normalization.mean.tolist(),
            "std": normalization.std.tolist()}


def write_normalization(run_dir: Path, normalization: Normalization) -> None:
    if normalization.pipeline == "course":
        atomic_save_npy(run_dir / MEAN_IMAGE_FILE, normalization.mean)


def final_metrics(history, state_step: int | None = None) -> dict:
    """Metrics at the last evaluation, or at `state_step` (the best one, with early stopping)."""
    index = history.step.index(state_step) if state_step in history.step else -1
    metrics = {"step": history.step[index], "train_seconds": history.seconds[-1],
               "eval_seconds": history.eval_seconds[-1]}
    for split in SPLITS:
        values = getattr(history, f"{split}_accuracy")
        if values:
            metrics[f"{split}_accuracy"] = values[index]
            metrics[f"{split}_loss"] = getattr(history, f"{split}_loss")[index]
    return metrics


def format_table(metrics: dict, title: str) -> str:
    rows = [f"{title}", f"{'split':<8}{'accuracy':>10}{'loss':>9}"]
    for split in SPLITS:
        if f"{split}_accuracy" in metrics:
            rows.append(f"{split:<8}{metrics[f'{split}_accuracy']:>9.2%}{metrics[f'{split}_loss']:>9.3f}")
    return "\n".join(rows)


def describe(model: str, cfg, runtime: Runtime | None) -> str:
    """The resolved config (and runtime) as one printed line."""
    runtime_part = f" runtime {json.dumps(dataclasses.asdict(runtime))}" if runtime else ""
    return f"cifarlab train {model}: " + json.dumps(config_to_dict(cfg)) + runtime_part


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """Refuse an --out that cannot hold a new run before anything is loaded or written."""
    if run_dir.exists() and not run_dir.is_dir():
        raise CifarlabError(f"{run_dir} is a file, not a run directory: choose another --out")
    if not resume and (run_dir / "history.json").exists():  # a run that got as far as one evaluation
        raise CifarlabError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out")


def train_run(model: str, cfg, run_dir: Path, data: str | None = None, runtime: Runtime | None = None,
              resume: bool = False, progress: bool = True, announce: bool = False, on_evaluation=None,
              pictures: bool = True) -> dict:
    """Train `model` with `cfg` on `runtime` (default: the model's) into `run_dir`; returns the
    final metrics. `progress`: show progress; `announce`: print the resolved config first;
    `pictures`: end with the test set's confusion matrix and most confident mistakes (PNG files
    and TensorBoard images, rundir/analysis.py).
    Every check runs before the run directory is made, and a run that fails before its first
    checkpoint leaves no directory behind."""
    entry = get_model(model)
    if runtime is None and entry.takes_runtime:
        from cifarlab.training.resolve import resolve

        runtime = resolve(model).runtime
    check_run_dir(run_dir, resume)
    import_in_background(FOR_EVERY_RUN + (FOR_TORCH_RUNS if entry.takes_runtime else ()))
    on_cpu = runtime is not None and pick_device(runtime.device) == "cpu"
    with run_settings(cfg.seed, threads=runtime.threads if runtime else 0, with_torch=entry.takes_runtime,
                      keep_freed_memory=on_cpu and runtime.reuse_memory):
        return _run(model, entry, cfg, run_dir, data, runtime, resume, progress, announce, on_evaluation, pictures)


def _run(model, entry, cfg, run_dir: Path, data, runtime, resume: bool, progress: bool, announce: bool,
         on_evaluation, pictures: bool) -> dict:
    """train_run's work, inside the run's process settings."""
    source = resolve_source(data, progress=progress)
    raw = load_cifar10(source, progress=progress)
    prepared = prepare_for(model, cfg, raw)
    cfg = resolve_steps(cfg, len(prepared.train.y))
    check_batch_size(cfg.batch_size, len(prepared.train.y))
    learner = entry.make_learner(cfg, DataShape(len(prepared.classes), len(prepared.train.y)), runtime)
    asked = runtime
    if runtime is not None:  # record the device and precision it really ran with ("auto" resolved)
        device = learner.device.type
        runtime = dataclasses.replace(runtime, device=device, precision=resolved_precision(runtime.precision, device))
    if announce and learner.is_main:
        print(describe(model, cfg, runtime))
        if asked is not None and asked.precision == "auto":
            print(f"precision auto: {runtime.precision} on this {runtime.device}"
                  + ("" if runtime.device == "cuda" else f" ({'native' if native_bf16() else 'no native'} bf16)"))
        print(f"run directory: {run_dir}")
    record = run_record(model, cfg, runtime, prepared, str(source.resolve()))
    if resume:  # the record as first written, with the config as now resolved (--steps may extend it)
        record = {**read_json(run_dir / "config.json"), "config": record["config"]}
    fresh = not run_dir.exists() or not any(run_dir.iterdir())
    choice = learner.settle_eval_batch(prepared.test.x) if entry.takes_runtime else None
    if choice and announce and learner.is_main:
        print(choice.describe())
    try:
        metrics = _train_and_write(model, cfg, learner, prepared, record, run_dir, resume, progress, on_evaluation)
        if pictures and learner.is_main:
            write_test_analysis(run_dir, learner.probabilities(prepared.test.x), prepared.test.y, raw.test_images,
                                prepared.classes, step=metrics["stopped_at"])
    except BaseException as exc:
        learner.close(finished=False)
        if fresh and learner.is_main and not (run_dir / learner.weights_name).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            if isinstance(exc, CifarlabError):
                raise CifarlabError(f"{exc} ({run_dir} removed: it held no checkpoint)") from None
        raise
    learner.close(finished=True)
    return metrics


def _train_and_write(model, cfg, learner, prepared, record, run_dir: Path, resume: bool, progress: bool,
                     on_evaluation) -> dict:
    """The loop, then (on the main process only) best weights, metrics, curves and plot."""
    if learner.is_main:
        write_normalization(run_dir, prepared.normalization)
        atomic_write_json(run_dir / "config.json", record)
    history = fit(learner, prepared, cfg, run_dir, resume=resume, progress=progress, on_evaluation=on_evaluation)
    best_step = None
    if cfg.early_stop and learner.is_main:
        state = learner.load(best_path(run_dir, learner))
        best_step = state["best_step"]
        learner.save(run_dir / learner.weights_name, state)  # the run's weights are the best ones
    metrics = final_metrics(history, best_step)
    metrics["stopped_at"] = history.step[-1]
    if learner.is_main:
        write_history(run_dir, history)
        atomic_write_json(run_dir / "metrics.json", metrics)
        plot_histories({model: history}, run_dir / "curves.png", title=f"{model} ({run_dir.name})",
                       step_logs={model: StepLog.read(run_dir)})
    return metrics
