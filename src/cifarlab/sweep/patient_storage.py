"""An Optuna RDB storage that waits out a database outage instead of dying with it.

A sweep's workers may run for hours on many machines against one PostgreSQL server; a
restart of that server must not stop them. Every storage call that fails because the
connection is lost (server restarting, shutting down, unreachable, refusing) is retried with
growing pauses, a log line each, until the database answers or `patience` seconds have
passed since the first failure; then the worker stops with one line (DatabaseUnavailable).
Other errors are not retried: they are bugs or real refusals.

Retrying writes whose reply was lost could apply them twice; the two cases that matter are
handled: a trial-state change that did land before the connection broke counts as done, and
the sweep runner skips a grid point that another trial has already completed or is running.
"""

from __future__ import annotations

import time
from typing import Callable

import optuna
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError

from cifarlab.errors import CifarlabError


class DatabaseUnavailable(CifarlabError):
    """The database stayed unreachable for longer than the worker's patience."""


def is_connection_error(exc: BaseException | None) -> bool:
    """A lost or refused connection, also when Optuna wrapped it into StorageInternalError."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, PendingRollbackError):
        # Optuna's fallback query ran inside the transaction that the lost connection had broken
        return is_connection_error(exc.__context__)
    return isinstance(exc, optuna.exceptions.StorageInternalError) and is_connection_error(exc.__cause__)


def first_line(exc: BaseException) -> str:
    """The database's own words (psycopg2's message, not SQLAlchemy's wrapping of it)."""
    cause = exc.__cause__ if isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ else exc
    cause = getattr(cause, "orig", None) or cause  # DBAPIError keeps the driver's exception there
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


class Patience:
    """Retries a call while the database is unreachable, for at most `seconds` per outage."""

    MAX_PAUSE = 15.0

    def __init__(self, seconds: float, log: Callable[[str], None] = print, sleep: Callable = time.sleep):
        self.seconds, self.sleep = seconds, sleep
        self.hide: Callable[[str], str] = lambda text: text  # a storage sets it to mask its URL's password
        self.log = lambda line: log(self.hide(line))
        self.failure: str | None = None  # why it gave up; every later call then fails at once

    def call(self, what: str, attempt: Callable[[int], object]):
        """`attempt(n)` until it succeeds: n counts the earlier tries that failed to connect."""
        failures, deadline = 0, None
        while True:
            if self.failure:
                raise DatabaseUnavailable(self.failure)
            try:
                result = attempt(failures)
            except Exception as exc:  # noqa: BLE001 - connection errors are told apart below
                if not is_connection_error(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.seconds
                if now >= deadline:
                    self.failure = self.hide(f"the sweep database was unreachable for {self.seconds:g} s "
                                             f"(--db-patience) during {what} ({first_line(exc)}); start the worker "
                                             "again once it is back: the sweep continues where it stopped")
                    raise DatabaseUnavailable(self.failure) from None
                pause = min(self.MAX_PAUSE, 0.5 * 2 ** failures, deadline - now)
                failures += 1
                self.log(f"database unreachable during {what} ({first_line(exc)}); retry {failures} in {pause:.1f} s")
                self.sleep(pause)
                continue
            if failures:
                self.log(f"database back: {what} went through after {failures} retries")
            return result


# Storage methods that talk to the database (RDBStorage's public ones and those the
# caching layer Optuna puts in front of it calls).
RETRIED = ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
           "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
           "get_study_system_attrs", "get_all_studies", "create_new_trial", "set_trial_param",
           "get_trial_id_from_study_id_trial_number", "set_trial_intermediate_value", "set_trial_user_attr",
           "set_trial_system_attr", "get_trial", "get_all_trials", "get_n_trials", "get_best_trial",
           "get_trial_number_from_id", "get_trial_param", "get_trial_params", "get_trial_user_attrs",
           "get_trial_system_attrs", "_create_new_trial", "_get_best_trial_id", "_get_stale_trial_ids",
           "_get_trials", "_set_trial_param")


class PatientRDBStorage(optuna.storages.RDBStorage):
    """RDBStorage whose database calls go through a Patience (and whose connections are
    checked before use, so that the pool drops the ones a server restart killed)."""

    def __init__(self, url: str, patience: Patience, **kwargs):
        from cifarlab.sweep.storage_url import hide_password

        self.patience = patience
        patience.hide = lambda text: hide_password(text, url)
        kwargs["engine_kwargs"] = {"pool_pre_ping": True, **kwargs.get("engine_kwargs", {})}
        patience.call("connecting", lambda _: optuna.storages.RDBStorage.__init__(self, url, **kwargs))

    def set_trial_state_values(self, trial_id, state, values=None) -> bool:
        def attempt(failures: int) -> bool:
            try:
                return optuna.storages.RDBStorage.set_trial_state_values(self, trial_id, state, values)
            except optuna.exceptions.UpdateFinishedTrialError:
                # an earlier try may have landed before its connection broke: then it is done
                if failures and optuna.storages.RDBStorage.get_trial(self, trial_id).state == state:
                    return True
                raise

        return self.patience.call(f"setting trial {trial_id} to {state.name}", attempt)

    def record_heartbeat(self, trial_id: int) -> None:
        """Best effort, from Optuna's heartbeat thread: a heartbeat that cannot be sent is
        logged, not raised (the main thread stops the worker if the outage lasts)."""
        try:
            self.patience.call("a heartbeat", lambda _: optuna.storages.RDBStorage.record_heartbeat(self, trial_id))
        except DatabaseUnavailable:
            pass


def _patient(name: str):
    method = getattr(optuna.storages.RDBStorage, name)

    def call(self, *args, **kwargs):
        return self.patience.call(name.strip("_").replace("_", " "), lambda _: method(self, *args, **kwargs))

    call.__name__ = name
    return call


for _name in RETRIED:
    setattr(PatientRDBStorage, _name, _patient(_name))
