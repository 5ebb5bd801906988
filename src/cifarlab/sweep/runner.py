"""Sweep workers on an Optuna study; any number may share one storage.

Grid experiments: the worker that creates the study queues every point once; workers
then claim queued trials (the storage hands each one to a single worker), so no point
runs twice. TPE experiments sample until the study holds `trials` finished trials.
A killed worker's trial stops sending heartbeats; after the grace period the next
worker marks it failed and queues it again (at most `MAX_RETRIES` times). A database outage
is waited out (see patient_storage): a grid point that another trial has completed or is
running is skipped, so every point completes exactly once.
"""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.sweep.experiment import Experiment
from cifarlab.sweep.patient_storage import DatabaseUnavailable, Patience, PatientRDBStorage
from cifarlab.sweep.storage_url import hide_password, masked

MAX_RETRIES = 2
RESULT_KEYS = ("test_accuracy", "test_loss", "train_accuracy", "train_loss", "val_accuracy", "val_loss")
READY_ATTR = "grid_queued"


@contextlib.contextmanager
def _experimental_allowed():
    """Optuna marks its heartbeat helpers experimental; say so once in the docs, not every call."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


# the loser of the table-creation race; a lost connection (OperationalError) is the Patience's to wait out
RETRIED_ERRORS = ("IntegrityError", "ProgrammingError")


DB_PATIENCE = 600.0  # seconds a worker waits for its database before it gives up


def open_storage(url: str, heartbeat: int | None, patience: Patience | None = None, attempts: int = 5):
    """Optuna's RDB storage with heartbeats that waits out outages (`patience`). Workers that
    start together on a fresh database race to create its tables, and the loser's CREATE
    fails (PostgreSQL: a unique violation in pg_type); by the retry the tables exist."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    # what a bad URL, a missing driver, an unreachable server or the race raise; anything
    # else is a programming error and keeps its traceback
    storage_errors = (SQLAlchemyError, ImportError, optuna.exceptions.StorageInternalError)
    patience = patience or Patience(DB_PATIENCE)
    for attempt in range(attempts):
        try:
            with _experimental_allowed():
                return PatientRDBStorage(
                    url, patience, heartbeat_interval=heartbeat, grace_period=2 * heartbeat if heartbeat else None,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=MAX_RETRIES))
        except storage_errors as exc:
            if attempt == attempts - 1 or type(exc).__name__ not in RETRIED_ERRORS:
                first_line = hide_password(f"{type(exc).__name__}: {exc}".split("\n")[0], url)
                raise CifarlabError(f"cannot open sweep storage {masked(url)} ({first_line})") from None
            time.sleep(0.5 * (attempt + 1))


def _sampler_and_pruner(experiment: Experiment, seed: int):
    import optuna

    sampler = (optuna.samplers.TPESampler(seed=seed) if experiment.sampler == "tpe"
               else optuna.samplers.RandomSampler(seed=seed))
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

    from cifarlab.rundir.logs import TensorBoardLog
    from cifarlab.training.resolve import coerce_option, resolve
    from cifarlab.training.run import train_run

    def objective(trial):
        options = trial_options(experiment, trial)
        if options is None or _point_taken(trial):  # nothing (new) to train
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("no queued grid point left" if options is None else "point taken")
        options = {k: coerce_option(experiment.model, k, v) for k, v in options.items()}
        cfg, runtime = resolve(experiment.model, options)  # a bad TPE sample fails its trial alone
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
        results = {key: metrics[key] for key in RESULT_KEYS if key in metrics}
        for key, value in results.items():
            trial.set_user_attr(key, value)
        board = TensorBoardLog(run_dir)  # one TensorBoard over the sweep directory compares the trials
        board.hparams(options, results)
        board.close()
        varying = {k: v for k, v in options.items() if experiment.fixed.get(k) != v}
        log(f"trial {trial.number}: {json.dumps(_json_options(varying))} -> {experiment.objective} "
            f"{metrics[experiment.objective]:.4f} ({time.perf_counter() - started:.1f} s)")
        return metrics[experiment.objective]

    return objective


def _point_taken(trial) -> bool:
    """Whether this grid trial's point is completed by another trial, or running in an earlier
    one: possible after a database outage, when a trial whose result was lost was queued again
    while the original went on."""
    from optuna.trial import TrialState

    point = trial.user_attrs.get("point")
    if point is None:
        return False
    others = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    return any(other.user_attrs.get("point") == point and other.number != trial.number
               and (other.state == TrialState.COMPLETE or other.number < trial.number) for other in others)


def _count(study, *states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def run_worker(experiment: Experiment, storage_url: str, sweep_dir: Path, data: str | None = None,
               heartbeat: int = 30, seed: int = 0, log=print, db_patience: float = DB_PATIENCE):
    """Work on the study until the grid is done or the TPE budget is spent; returns the study.
    The database may go away for up to `db_patience` seconds at a time."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    patience = Patience(db_patience, log)
    storage = open_storage(storage_url, heartbeat, patience)
    study = open_study(experiment, storage, seed)
    objective = make_objective(experiment, sweep_dir, data, log)
    while True:
        with _experimental_allowed():
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial goes back to the queue
        step = _next_step(study, experiment)
        if step == "done":
            return study
        if step == "wait":
            time.sleep(heartbeat)  # another worker may still die: stay until the grid is done
            continue
        _run_one_trial(study, objective, patience, log)


def _next_step(study, experiment: Experiment) -> str:
    """"trial" (one to run), "wait" (only other workers' trials are left) or "done"."""
    from optuna.trial import TrialState

    if experiment.sampler == "tpe":
        finished = _count(study, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        return "trial" if finished < experiment.trials else "done"
    if _count(study, TrialState.WAITING):
        return "trial"
    return "wait" if _count(study, TrialState.RUNNING) else "done"


def _run_one_trial(study, objective, patience: Patience, log) -> None:
    import optuna

    try:
        study.optimize(objective, n_trials=1, catch=(CifarlabError,))  # bad options fail their trial alone
    except optuna.exceptions.UpdateFinishedTrialError:
        log("a trial's result came back after another worker had failed it (its heartbeats stopped while the "
            "database was away); its point runs again")
    except Exception:
        if patience.failure:  # whatever Optuna made of it, the cause is the database
            raise DatabaseUnavailable(patience.failure) from None
        raise
