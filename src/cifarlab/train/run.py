"""From a config to a finished run directory, and back (evaluate a saved run)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from cifarlab import __version__
from cifarlab.data.preprocess import PreparedData, prepare
from cifarlab.data.store import load_cifar10, resolve_source
from cifarlab.errors import CifarlabError
from cifarlab.train.configs import config_from_dict, config_to_dict, resolve_steps
from cifarlab.train.loop import best_path, evaluate_splits, fit, train_eval_indices
from cifarlab.train.plots import plot_histories
from cifarlab.train.registry import get_model
from cifarlab.train.rundir import atomic_write_json, git_version, read_json, write_history

SPLITS = ("test", "train", "val")


def seed_everything(seed: int) -> None:
    """One seed drives Python's, NumPy's and torch's global generators."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # the NumPy engine runs without torch
        return
    torch.manual_seed(seed)


def load_prepared(model: str, cfg, data: str | None, progress: bool = True) -> tuple[PreparedData, Path]:
    """The data the model trains on, and the source path it came from."""
    source = resolve_source(data, progress=progress)
    raw = load_cifar10(source, progress=progress)
    return prepare(raw, get_model(model).layout, cfg.val_size, cfg.seed), source


def _run_record(model: str, cfg, prepared: PreparedData, data_source: str) -> dict:
    return {
        "model": model,
        "config": config_to_dict(cfg),
        "seed": cfg.seed,
        "code_version": f"cifarlab {__version__} ({git_version()})",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_source": data_source,
        "classes": list(prepared.classes),
        "normalization": {"mean": prepared.mean.tolist(), "std": prepared.std.tolist()},
    }


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


def train_run(model: str, cfg, run_dir: Path, data: str | None = None, resume: bool = False,
              progress: bool = True, on_evaluation=None) -> dict:
    """Train `model` with `cfg` into `run_dir`; returns the final metrics."""
    entry = get_model(model)
    seed_everything(cfg.seed)
    prepared, source = load_prepared(model, cfg, data, progress)
    resolved = resolve_steps(cfg, len(prepared.train.y))
    if resolved.steps != cfg.steps and progress:
        print(f"--epochs {resolved.epochs:g}: {resolved.steps} steps of {cfg.batch_size} images")
    cfg = resolved
    record = _run_record(model, cfg, prepared, str(source.resolve()))
    learner = entry.make_learner(cfg, len(prepared.classes))
    close = getattr(learner, "close", lambda finished: None)
    try:
        metrics = _train_and_write(model, cfg, learner, prepared, record, run_dir, resume, progress, on_evaluation)
    except BaseException:
        close(finished=False)
        raise
    close(finished=True)
    return metrics


def _train_and_write(model, cfg, learner, prepared, record, run_dir: Path, resume: bool, progress: bool,
                     on_evaluation) -> dict:
    """The loop, then (on the main process only) best weights, metrics, curves and plot."""
    if resume:
        record = read_json(run_dir / "config.json")
    elif (run_dir / "history.json").exists():  # a run that got as far as one evaluation
        raise CifarlabError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out")
    if learner.is_main:
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
        plot_histories({model: history}, run_dir / "curves.png", title=f"{model} ({run_dir.name})")
    return metrics


def load_run(run_dir: Path):
    """(model name, config, run record) of a saved run."""
    if not run_dir.is_dir():
        raise CifarlabError(f"run directory {run_dir} does not exist")
    record = read_json(run_dir / "config.json")
    entry = get_model(record.get("model", "?"))
    return record["model"], config_from_dict(entry.config_cls, record["config"]), record


def evaluate_run(run_dir: Path, data: str | None = None, progress: bool = True) -> dict:
    """Reload the saved weights and measure test, train-sample (and validation) metrics again."""
    model, cfg, record = load_run(run_dir)
    entry = get_model(model)
    prepared, _ = load_prepared(model, cfg, data or record["data_source"], progress)
    learner = entry.make_learner(cfg, len(prepared.classes))
    weights = run_dir / learner.weights_name
    if not weights.exists():
        raise CifarlabError(f"{weights} not found: the run has not reached its first evaluation")
    learner.load(weights)
    started = time.perf_counter()
    sample = train_eval_indices(len(prepared.train.y), cfg.train_eval_size, cfg.seed)
    metrics = {f"{split}_{kind}": value for split, pair in evaluate_splits(learner, prepared, sample).items()
               for kind, value in zip(("accuracy", "loss"), pair)}
    metrics["eval_seconds"] = time.perf_counter() - started
    return metrics


def print_config(model: str, cfg) -> None:
    print(f"cifarlab train {model}: " + json.dumps(config_to_dict(cfg)))
