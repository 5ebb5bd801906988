"""The one training loop every model runs through.

A *learner* wraps a model and its optimiser (NumPy or torch) behind the `Learner` protocol
below. The loop owns the recipe: batch order, learning rate, evaluation, curves,
checkpoints, early stopping and the target accuracy.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, NamedTuple, Protocol, SupportsFloat

import numpy as np

from cifarlab.data.batches import BatchSchedule
from cifarlab.data.preprocess import PreparedData
from cifarlab.errors import CifarlabError, RunStopped
from cifarlab.process.stop_requests import StopRequests
from cifarlab.rundir.files import History, read_history, write_history
from cifarlab.rundir.logs import RunLogs
from cifarlab.training.configs import TrainConfig
from cifarlab.training.progress import Progress
from cifarlab.training.schedules import lr_at


class Learner(Protocol):
    weights_name: str  # file name of the checkpoint inside the run directory
    is_main: bool  # the process that writes files (always, outside torchrun)
    # how many steps' losses the loop may leave unread: reading a loss computed on a GPU
    # waits for the GPU to finish, so there the loop reads them in groups (1: read each at once)
    unread_steps: int

    def stage(self, x: np.ndarray, y: np.ndarray) -> tuple:
        """The training arrays in the form batches are cut from (a GPU learner copies them there once)."""
    def choose(self, batch: np.ndarray) -> np.ndarray:
        """The images of the scheduled batch (training-set indices) that this step trains on."""
    def train_step(self, x, y, lr: float) -> SupportsFloat:
        """The batch's mean loss: a float, or a tensor that float() reads (waiting for it)."""
    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]: ...
    def probabilities(self, x: np.ndarray) -> np.ndarray: ...
    def save(self, path: Path, loop_state: dict) -> None: ...
    def load(self, path: Path) -> dict: ...
    def close(self, finished: bool = True) -> None:
        """Release what the learner holds (a torchrun process group); `finished`: it ended normally."""
    def any_rank(self, flag: bool) -> bool:
        """`flag` on any process (under torchrun the processes must stop at the same step)."""


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


def evaluates_at(done: int, cfg: TrainConfig) -> bool:
    """Evaluate every cfg.eval_every steps (never in between with 0) and always after the last step."""
    return done == cfg.steps or bool(cfg.eval_every and done % cfg.eval_every == 0)


@dataclass(frozen=True)
class LoopState:
    """Where the loop stands at its latest checkpoint (an evaluation, or a stop on a signal);
    saved in every checkpoint (as a dict), so that --resume continues from it."""

    step: int = 0  # steps done
    best_loss: float = math.inf  # the lowest monitored loss so far (early stopping)
    best_step: int = 0  # ... and the step it was measured at
    stale_evals: int = 0  # evaluations since the monitored loss last improved
    train_seconds: float = 0.0  # the loop's clock, evaluations included
    eval_seconds: float = 0.0  # the part of it spent evaluating

    @classmethod
    def from_checkpoint(cls, values: dict) -> LoopState:
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def fit(learner: Learner, data: PreparedData, cfg: TrainConfig, run_dir: Path, resume: bool = False,
        progress: bool = True, on_evaluation: Callable | None = None) -> History:
    """Train for cfg.steps, evaluating as `evaluates_at` says; returns the learning curves.

    With `resume`, continue from the checkpoint in run_dir: the batch order and learning
    rate are functions of the step, and the learner restores its RNG states, so the run
    ends exactly as an uninterrupted one would. `on_evaluation(step, latest_metrics)` is
    called after each checkpoint (a sweep reports to its pruner there, and may raise).
    Every step is logged to steps.csv and TensorBoard (see run_logs). On SIGTERM or SIGINT
    the step under way is finished and checkpointed, and RunStopped is raised.
    """
    train_x, train_y = learner.stage(data.train.x, data.train.y)
    schedule = BatchSchedule(len(data.train.y), cfg.batch_size, cfg.seed)
    history, state = starting_point(learner, run_dir, resume)
    logs = RunLogs(run_dir, state.step, learner.is_main)
    run = _Run(learner, data, cfg, run_dir, history, logs, _UnreadLosses(logs, run_dir),
               clock=_Clock(state.train_seconds),  # started after the logs, which take a moment to open
               report=Progress(cfg.steps, state.step, enabled=progress and learner.is_main, speaks=learner.is_main),
               sample=train_eval_indices(len(data.train.y), cfg.train_eval_size, cfg.seed),
               on_evaluation=on_evaluation)
    try:
        with StopRequests() as stop:
            for step in range(state.step, cfg.steps):
                lr = lr_at(step, cfg.lr, cfg.steps, cfg.schedule, cfg.warmup_steps)
                batch, started = learner.choose(schedule(step)), time.perf_counter()
                loss = learner.train_step(train_x[batch], train_y[batch], lr)
                run.unread.add(_Step(step + 1, loss, lr, run.clock.seconds(), len(batch), started))
                run.report.step()
                if evaluates_at(step + 1, cfg):
                    state, finished = _evaluation_point(run, state, step + 1, lr)
                    if finished:
                        break
                elif len(run.unread.steps) >= learner.unread_steps:
                    run.unread.read(state.step)
                if step + 1 < cfg.steps and learner.any_rank(stop.signal_name is not None):
                    _stop_after(run, state, step + 1, stop.signal_name or "a signal on another process")
    finally:
        run.report.close()
        logs.close()
    return history


@dataclass
class _Run:
    """What the loop's helpers share within one call of `fit`."""

    learner: Learner
    data: PreparedData
    cfg: TrainConfig
    run_dir: Path
    history: History
    logs: RunLogs
    unread: _UnreadLosses
    clock: _Clock
    report: Progress
    sample: np.ndarray  # the training images of the train metrics
    on_evaluation: Callable | None


def _evaluation_point(run: _Run, state: LoopState, done: int, lr: float) -> tuple[LoopState, bool]:
    """Evaluate, checkpoint and report after `done` steps; (the new state, whether the run stops here)."""
    loss = run.unread.read(state.step)
    state, metrics = _evaluate_and_record(run, state, done, lr)
    state = after_evaluation(state, monitored_loss(metrics), done)
    run.logs.evaluation(done, metrics)
    _checkpoint(run.learner, run.run_dir, run.history, state, keep_best=bool(run.cfg.early_stop))
    run.report.evaluation(done, loss, metrics, state.train_seconds)
    if run.on_evaluation is not None:
        run.on_evaluation(done, run.history.latest())
    stop = early_stop_due(state, run.cfg)
    if stop or target_reached(metrics, run.cfg):
        run.report.write(stop_message(run.cfg, state, stop))
        return state, True
    return state, False


def _stop_after(run: _Run, state: LoopState, done: int, signal_name: str) -> None:
    """Checkpoint the step just taken (unless an evaluation just did) and raise RunStopped."""
    if state.step != done:
        if run.unread.steps:
            run.unread.read(state.step)
        state = replace(state, step=done, train_seconds=run.clock.seconds())
        _checkpoint(run.learner, run.run_dir, run.history, state, keep_best=False)
    raise RunStopped(f"stopped by {signal_name} after step {done} of {run.cfg.steps}; its checkpoint is in "
                     f"{run.run_dir}: continue it with --resume {run.run_dir} (or run the same command with "
                     "--auto-resume)")


def starting_point(learner: Learner, run_dir: Path, resume: bool) -> tuple[History, LoopState]:
    """Empty curves and a fresh loop state, or those of the checkpoint in run_dir."""
    if not resume:
        return History(), LoopState()
    state = LoopState.from_checkpoint(learner.load(run_dir / learner.weights_name))
    history = read_history(run_dir)
    history.truncate(state.step)
    return history, state


class _Clock:
    """Seconds of the loop, continuing those of the run it resumes."""

    def __init__(self, before: float):
        self.before, self.started = before, time.perf_counter()

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.started


class _Step(NamedTuple):
    done: int  # steps done, this one included
    loss: SupportsFloat  # as the learner returned it, perhaps still on the device
    lr: float
    seconds: float  # the run's clock after the step was queued
    images: int
    started: float  # perf_counter() before the step


class _UnreadLosses:
    """Steps whose losses the learner returned but the loop has not read yet. `read` reads
    them, stops the run at a non-finite one, and logs each step; images per second are
    those of the whole group (from its first step's start to the read), as a GPU's steps
    overlap while their losses stay unread."""

    def __init__(self, logs: RunLogs, run_dir: Path):
        self.logs, self.run_dir = logs, run_dir
        self.steps: list[_Step] = []

    def add(self, step: _Step) -> None:
        self.steps.append(step)

    def read(self, checkpoint_step: int) -> float:
        """The last step's loss, after checking and logging every unread step
        (`checkpoint_step`: the step of the last checkpoint, for the message if one is not finite)."""
        values = [float(step.loss) for step in self.steps]
        elapsed = max(time.perf_counter() - self.steps[0].started, 1e-9)
        images_per_second = sum(step.images for step in self.steps) / elapsed
        for step, value in zip(self.steps, values):
            _check_finite(value, step.done - 1, checkpoint_step, self.run_dir)
            self.logs.step(step.done, value, step.lr, step.seconds, images_per_second)
        self.steps = []
        return values[-1]


def _check_finite(loss: float, step: int, checkpoint_step: int, run_dir: Path) -> None:
    if math.isfinite(loss):
        return
    if checkpoint_step == 0:
        raise CifarlabError(f"the training loss became {loss} at step {step + 1}, before the first evaluation, so "
                            "no checkpoint was written: lower --lr and start again")
    raise CifarlabError(f"the training loss became {loss} at step {step + 1}; stopped. The last good checkpoint "
                        f"(step {checkpoint_step}) is kept in {run_dir}: lower --lr and resume or start again")


def _evaluate_and_record(run: _Run, state: LoopState, done: int, lr: float) -> tuple[LoopState, dict]:
    """Evaluate after `done` steps and append the metrics to the curves; the new state and the metrics."""
    started = time.perf_counter()
    metrics = evaluate_splits(run.learner, run.data, run.sample)
    eval_seconds = state.eval_seconds + time.perf_counter() - started
    seconds = run.clock.seconds()
    run.history.append(step=done, lr=lr, seconds=seconds, eval_seconds=eval_seconds,
                       **{f"{split}_{kind}": value for split, (acc, los) in metrics.items()
                          for kind, value in (("accuracy", acc), ("loss", los))})
    return replace(state, step=done, train_seconds=seconds, eval_seconds=eval_seconds), metrics


def _checkpoint(learner: Learner, run_dir: Path, history: History, state: LoopState, keep_best: bool) -> None:
    """Curves first, then the checkpoint: a run killed in between resumes from the previous one."""
    if learner.is_main:
        write_history(run_dir, history)
    learner.save(run_dir / learner.weights_name, asdict(state))  # learners write on the main process only
    if keep_best and state.best_step == state.step:
        learner.save(best_path(run_dir, learner), asdict(state))


def monitored_loss(metrics: dict) -> float:
    """The loss early stopping watches: validation if held out, else test."""
    return metrics["val" if "val" in metrics else "test"][1]


def target_reached(metrics: dict, cfg: TrainConfig) -> bool:
    """--target-acc: the validation accuracy if held out, else the test accuracy, reached it."""
    return bool(cfg.target_acc) and metrics["val" if "val" in metrics else "test"][0] >= cfg.target_acc


MIN_IMPROVEMENT = 1e-4  # a loss lower by less than this is no improvement (it is creeping, not learning)


def after_evaluation(state: LoopState, loss: float, step: int) -> LoopState:
    """The state with the best monitored loss tracked: a new best resets the count of stale evaluations."""
    if loss < state.best_loss - MIN_IMPROVEMENT:
        return replace(state, best_loss=loss, best_step=step, stale_evals=0)
    return replace(state, stale_evals=state.stale_evals + 1)


def early_stop_due(state: LoopState, cfg: TrainConfig) -> bool:
    """--early-stop N: N evaluations in a row without improvement."""
    return bool(cfg.early_stop) and state.stale_evals >= cfg.early_stop


def stop_message(cfg: TrainConfig, state: LoopState, early: bool) -> str:
    if early:
        return (f"early stop at step {state.step}: no improvement for {cfg.early_stop} evaluations "
                f"since step {state.best_step}")
    return f"target accuracy {cfg.target_acc:.2%} reached at step {state.step} ({state.train_seconds:.1f} s)"
