"""The one way benchmarks run cifarlab: `python -m cifarlab train ...` in a process of its own,
exactly as a user runs it, and what it wrote read back."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time


class TrainFailed(RuntimeError):
    """A `cifarlab train` process exited non-zero; the message is its last stderr line."""


def train_once(args: list[str]) -> tuple[float, dict, dict]:
    """Run `cifarlab train ARGS --out TMP --quiet`; returns its wall seconds (start-up, data
    loading, training, evaluations, files), history.json and metrics.json."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        finished = subprocess.run([sys.executable, "-m", "cifarlab", "train", *args, "--out", f"{out}/run", "--quiet"],
                                  capture_output=True, text=True)
        wall = time.perf_counter() - started
        if finished.returncode:
            last = (finished.stderr.strip().splitlines() or ["no message"])[-1]
            raise TrainFailed(f"exit {finished.returncode}: {last}")
        with open(f"{out}/run/history.json") as history, open(f"{out}/run/metrics.json") as metrics:
            return wall, json.load(history), json.load(metrics)


def learner_for(model: str, runtime=None, classes: int = 10, train_size: int = 50000, **options):
    """A learner built the way `cifarlab train MODEL` builds it (`options` resolved over the
    model's defaults, then the model registry), for timing the library's own training step;
    on the CPU unless `runtime` says otherwise."""
    from cifarlab.training.registry import DataShape, get_model
    from cifarlab.training.resolve import resolve

    cfg, resolved_runtime = resolve(model, {"device": "cpu", **options} if get_model(model).takes_runtime else options)
    return get_model(model).make_learner(cfg, DataShape(classes, train_size), runtime or resolved_runtime)


def fastnet_after_one_step(**recipe):
    """A fastnet learner (`learner_for`) and one batch of random images of its batch size,
    after one training step on that batch, which sets the whitening layer: speed does not
    depend on pixels. Returns (learner, images, labels)."""
    import numpy as np

    learner = learner_for("fastnet", **recipe)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((learner.cfg.batch_size, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    learner.train_step(x, y, 0.5)
    return learner, x, y


def fastnet_to_time(recipe: dict, small_windows: bool):
    """`fastnet_after_one_step` for timing a step of a run: on whole images (the recipe's small
    windows taken out) or on its small windows, and with its step counter past the whitening
    bias's epochs, as in most of a run (inside the small-window epochs if asked).
    Returns (learner, images, labels)."""
    if not small_windows:
        recipe = {**recipe, "small_crop": 0, "small_crop_epochs": 0.0}
    learner, x, y = fastnet_after_one_step(**recipe)
    small_window_steps = round(learner.cfg.small_crop_epochs * learner.epoch_steps)
    learner.step = (learner.whiten_bias_steps + small_window_steps) // 2 if small_windows else 100_000
    assert not small_windows or learner.whiten_bias_steps <= learner.step < small_window_steps
    return learner, x, y
