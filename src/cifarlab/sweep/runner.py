"""Sweep workers on an Optuna study; any number may share one storage.

Grid experiments: the worker that creates the study queues every point once; workers
then claim queued trials (the storage hands each one to a single worker), so no point
runs twice. TPE experiments sample until the study holds `trials` finished trials.
A killed worker's trial stops sending heartbeats; after the grace period the next
worker marks it failed and queues it again (at most `MAX_RETRIES` times).
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.sweep.experiment import Experiment

MAX_RETRIES = 2
READY_ATTR = "grid_queued"


def default_storage(sweep_dir: Path, name: str) -> str:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(sweep_dir / f'{name}.db').resolve()}"


@contextlib.contextmanager
def _experimental_allowed():
    """Optuna marks its heartbeat helpers experimental; say so once in the docs, not every call."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


RETRIED_ERRORS = ("IntegrityError", "ProgrammingError", "OperationalError")


def open_storage(url: str, heartbeat: int | None, attempts: int = 5):
    """Optuna's RDB storage with heartbeats. Workers that start together on a fresh database
    race to create its tables, and the loser's CREATE fails (PostgreSQL: a unique violation
    in pg_type); by the retry the tables exist."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    # what a bad URL, a missing driver, an unreachable server or the race raise; anything
    # else is a programming error and keeps its traceback
    storage_errors = (SQLAlchemyError, ImportError, optuna.exceptions.StorageInternalError)
    for attempt in range(attempts):
        try:
            with _experimental_allowed():
                return optuna.storages.RDBStorage(
                    url, heartbeat_interval=heartbeat, grace_period=2 * heartbeat if heartbeat else None,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=MAX_RETRIES))
        except storage_errors as exc:
            if attempt == attempts - 1 or type(exc).__name__ not in RETRIED_ERRORS:
                first_line = f"{type(exc).__name__}: {exc}".split("\n")[0]
                raise CifarlabError(f"cannot open sweep storage {url} ({first_line})") from None
            time.sleep(0.5 * (attempt + 1))


def _sampler_and_pruner(experiment: Experiment, seed: int):
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed) if experiment.sampler == "tpe" else optuna.samplers.RandomSampler(seed=seed)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
              if experiment.pruner == "median" else optuna.pruners.NopPruner())
    return sampler, pruner


def open_study(experiment: Experiment, storage, seed: int = 0):
    """Create the study (and queue the grid) or join the existing one."""
    import optuna

    sampler, pruner = _sampler_and_pruner(experiment, seed)
    try:
        study = optuna.create_study(study_name=experiment.name, storage=storage, direction=experiment.direction,
                                    sampler=sampler, pruner=pruner)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=experiment.name, storage=storage, sampler=sampler, pruner=pruner)
        if experiment.sampler == "grid":
            _wait_until_queued(study)
        return study
    study.set_user_attr("experiment", experiment.source)
    if experiment.sampler == "grid":
        for index in range(len(experiment.points)):
            study.enqueue_trial({}, user_attrs={"point": index})
        study.set_user_attr(READY_ATTR, True)
    return study


def _wait_until_queued(study, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not study.user_attrs.get(READY_ATTR):
        if time.monotonic() > deadline:
            raise CifarlabError(f"study {study.study_name} has no queued grid: was its creator killed while "
                                "queueing? delete the study and start again")
        time.sleep(0.5)


def _json_options(options: dict) -> dict:
    return {k: ",".join(map(str, v)) if isinstance(v, tuple) else v for k, v in options.items()}


def trial_options(experiment: Experiment, trial) -> dict | None:
    """The options of this trial, or None for a grid trial that claimed no queued point."""
    if experiment.sampler == "grid":
        point = trial.user_attrs.get("point")
        return None if point is None else {**experiment.fixed, **experiment.points[point]}
    options = dict(experiment.fixed)
    for name, spec in experiment.space.items():
        if isinstance(spec, list):
            options[name] = trial.suggest_categorical(name, spec)
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            options[name] = trial.suggest_int(name, spec["low"], spec["high"], step=spec.get("step", 1),
                                              log=spec.get("log", False))
        else:
            options[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]),
                                                log=spec.get("log", False))
    return options


def make_objective(experiment: Experiment, sweep_dir: Path, data: str | None, log=print):
    import optuna

    from cifarlab.sweep.experiment import coerce_option, trial_setup
    from cifarlab.train.run import train_run

    def objective(trial):
        options = trial_options(experiment, trial)
        if options is None:  # the queue was empty when this worker asked: train nothing
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("no queued grid point left")
        options = {k: coerce_option(experiment.model, k, v) for k, v in options.items()}
        cfg, runtime = trial_setup(experiment.model, options)  # a bad TPE sample fails its trial alone
        run_dir = sweep_dir / experiment.name / f"trial-{trial.number:04d}"
        trial.set_user_attr("options", _json_options(options))
        trial.set_user_attr("run_dir", str(run_dir))

        def report(step, latest):
            trial.report(latest[experiment.objective], step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")

        started = time.perf_counter()
        try:
            metrics = train_run(experiment.model, cfg, run_dir, data, runtime, progress=False, on_evaluation=report)
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))
        for key in ("test_accuracy", "test_loss", "train_accuracy", "train_loss", "val_accuracy", "val_loss"):
            if key in metrics:
                trial.set_user_attr(key, metrics[key])
        varying = {k: v for k, v in options.items() if experiment.fixed.get(k) != v}
        log(f"trial {trial.number}: {json.dumps(_json_options(varying))} -> {experiment.objective} "
            f"{metrics[experiment.objective]:.4f} ({time.perf_counter() - started:.1f} s)")
        return metrics[experiment.objective]

    return objective


def _count(study, *states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def run_worker(experiment: Experiment, storage_url: str, sweep_dir: Path, data: str | None = None,
               heartbeat: int = 30, seed: int = 0, log=print):
    """Work on the study until the grid is done or the TPE budget is spent; returns the study."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url, heartbeat)
    study = open_study(experiment, storage, seed)
    objective = make_objective(experiment, sweep_dir, data, log)
    catch = (CifarlabError,)  # a trial with bad options fails alone; the sweep goes on
    if experiment.sampler == "tpe":
        with _experimental_allowed():
            optuna.storages.fail_stale_trials(study)
        done = optuna.study.MaxTrialsCallback(experiment.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
        study.optimize(objective, n_trials=experiment.trials, callbacks=[done], catch=catch)
        return study
    while True:
        with _experimental_allowed():
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial goes back to the queue
        if _count(study, TrialState.WAITING):
            study.optimize(objective, n_trials=1, catch=catch)
        elif _count(study, TrialState.RUNNING):
            time.sleep(heartbeat)  # another worker may still die: stay until the grid is done
        else:
            return study
