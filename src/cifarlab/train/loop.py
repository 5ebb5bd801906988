"""The one training loop every model runs through.

A *learner* wraps a model and its optimiser (NumPy or torch) behind four calls:
`train_step(x, y, lr) -> loss`, `evaluate(x, y) -> (accuracy, loss)`, and
`save(path, loop_state)` / `load(path) -> loop_state` for checkpoints, and optionally
`stage(x, y)`, which returns the training arrays in the form its batches are cut from (a GPU
learner keeps them on the device). The loop owns
the recipe: batch order, learning rate, evaluation, curves, checkpoints, early stopping.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from cifarlab.data.batches import BatchSchedule
from cifarlab.data.preprocess import PreparedData
from cifarlab.errors import CifarlabError
from cifarlab.train.configs import TrainConfig
from cifarlab.train.rundir import History, read_history, write_history
from cifarlab.train.schedules import lr_at


class Learner(Protocol):
    weights_name: str  # file name of the checkpoint inside the run directory
    is_main: bool  # the process that writes files (always, outside torchrun)

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float: ...
    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]: ...
    def save(self, path: Path, loop_state: dict) -> None: ...
    def load(self, path: Path) -> dict: ...


def train_eval_indices(n: int, size: int, seed: int) -> np.ndarray:
    """The fixed training sample used for train metrics (all of it when size is 0 or >= n)."""
    if size == 0 or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 7]).choice(n, size, replace=False))


def evaluate_splits(learner: Learner, data: PreparedData, train_sample: np.ndarray) -> dict:
    """{"train": (accuracy, loss) on the fixed training sample, "test": ..., "val": ... if held out}."""
    metrics = {"train": learner.evaluate(data.train.x[train_sample], data.train.y[train_sample]),
               "test": learner.evaluate(data.test.x, data.test.y)}
    if data.val is not None:
        metrics["val"] = learner.evaluate(data.val.x, data.val.y)
    return metrics


def best_path(run_dir: Path, learner: Learner) -> Path:
    return run_dir / f"best-{learner.weights_name}"


def fit(learner: Learner, data: PreparedData, cfg: TrainConfig, run_dir: Path, resume: bool = False,
        progress: bool = True, on_evaluation=None) -> History:
    """Train for cfg.steps, evaluating every cfg.eval_every steps; returns the learning curves.

    With `resume`, continue from the checkpoint in run_dir: the batch order and learning
    rate are functions of the step, and the learner restores its RNG states, so the run
    ends exactly as an uninterrupted one would. `on_evaluation(step, latest_metrics)` is
    called after each checkpoint (a sweep reports to its pruner there, and may raise).
    """
    from tqdm.auto import tqdm

    train = data.train
    # a learner may keep the training set on its device (staged once); batches index that copy
    train_x, train_y = learner.stage(train.x, train.y) if hasattr(learner, "stage") else (train.x, train.y)
    schedule = BatchSchedule(len(train.y), cfg.batch_size, cfg.seed)
    sample = train_eval_indices(len(train.y), cfg.train_eval_size, cfg.seed)
    history, state = History(), {"step": 0, "best_loss": math.inf, "best_step": 0, "stale_evals": 0,
                                 "train_seconds": 0.0, "eval_seconds": 0.0}
    if resume:
        state = learner.load(run_dir / learner.weights_name)
        history = read_history(run_dir)
        history.truncate(state["step"])
    elapsed_before = state["train_seconds"]
    started = time.perf_counter()
    bar = tqdm(range(state["step"], cfg.steps), initial=state["step"], total=cfg.steps,
               disable=not (progress and learner.is_main),
               desc="training", unit="step", dynamic_ncols=True)
    for step in bar:
        lr = lr_at(step, cfg.lr, cfg.steps, cfg.schedule, cfg.warmup_steps)
        batch = schedule(step)
        loss = learner.train_step(train_x[batch], train_y[batch], lr)
        if not math.isfinite(loss):
            raise CifarlabError(
                f"the training loss became {loss} at step {step + 1}; stopped. The last good checkpoint "
                f"(step {state['step']}) is kept in {run_dir}: lower --lr and resume or start again"
            )
        done = step + 1
        if done % cfg.eval_every and done != cfg.steps:
            continue
        eval_started = time.perf_counter()
        metrics = evaluate_splits(learner, data, sample)
        state["eval_seconds"] = state.get("eval_seconds", 0.0) + time.perf_counter() - eval_started
        seconds = elapsed_before + time.perf_counter() - started
        history.append(step=done, lr=lr, seconds=seconds, eval_seconds=state["eval_seconds"],
                       **{f"{split}_{kind}": value for split, (acc, los) in metrics.items()
                          for kind, value in (("accuracy", acc), ("loss", los))})
        state.update(step=done, train_seconds=seconds)
        stop = _early_stopping(state, metrics, cfg, done)
        reached = bool(cfg.target_acc) and metrics["val" if "val" in metrics else "test"][0] >= cfg.target_acc
        if learner.is_main:
            write_history(run_dir, history)
        learner.save(run_dir / learner.weights_name, state)  # learners write on the main process only
        if cfg.early_stop and state["best_step"] == done:
            learner.save(best_path(run_dir, learner), state)
        bar.set_postfix(loss=f"{loss:.3f}", train=f"{metrics['train'][0]:.1%}", test=f"{metrics['test'][0]:.1%}")
        if on_evaluation is not None:
            on_evaluation(done, history.latest())
        if stop and learner.is_main:
            bar.write(f"early stop at step {done}: no improvement for {cfg.early_stop} evaluations "
                      f"since step {state['best_step']}")
        if reached and learner.is_main:
            bar.write(f"target accuracy {cfg.target_acc:.2%} reached at step {done} ({seconds:.1f} s)")
        if stop or reached:
            break
    bar.close()
    return history


MIN_IMPROVEMENT = 1e-4  # a loss lower by less than this is no improvement (it is creeping, not learning)


def _early_stopping(state: dict, metrics: dict, cfg: TrainConfig, step: int) -> bool:
    """Track the monitored loss (validation if held out, else test); True when patience runs out."""
    monitored = metrics["val" if "val" in metrics else "test"][1]
    if monitored < state["best_loss"] - MIN_IMPROVEMENT:
        state.update(best_loss=monitored, best_step=step, stale_evals=0)
    else:
        state["stale_evals"] += 1
    return bool(cfg.early_stop) and state["stale_evals"] >= cfg.early_stop
