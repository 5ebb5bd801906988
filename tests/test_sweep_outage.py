"""A sweep worker waits out a database outage: retries, patience, and writes that landed."""

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy.exc import OperationalError, PendingRollbackError

from cifarlab.sweep.patient_storage import DatabaseUnavailable, Patience, PatientRDBStorage, is_connection_error


def lost_connection() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def flaky(failures: int, result="ok"):
    """A call that fails to connect `failures` times, then answers."""
    calls = {"n": 0}

    def attempt(_):
        calls["n"] += 1
        if calls["n"] <= failures:
            raise lost_connection()
        return result

    return attempt, calls


def test_connection_errors_are_retried_with_a_line_each():
    lines = []
    attempt, calls = flaky(3)
    assert Patience(30, lines.append, sleep=lambda s: None).call("reporting", attempt) == "ok"
    assert calls["n"] == 4 and len(lines) == 4
    assert lines[0].startswith("database unreachable during reporting (server closed the connection")
    assert "retry 3" in lines[2] and "went through after 3 retries" in lines[3]


def test_the_worker_gives_up_after_its_patience_and_says_why():
    patience = Patience(0.2, lambda line: None)
    attempt, _ = flaky(10**6)
    with pytest.raises(DatabaseUnavailable, match=r"unreachable for 0.2 s \(--db-patience\) during reporting"):
        patience.call("reporting", attempt)
    with pytest.raises(DatabaseUnavailable):  # and every later call fails at once
        patience.call("anything", lambda _: "never tried")


def test_other_errors_are_not_retried():
    def broken(_):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        Patience(30, lambda line: None).call("x", broken)
    assert not is_connection_error(optuna.exceptions.StorageInternalError("bad data"))
    wrapped = optuna.exceptions.StorageInternalError("commit failed")
    wrapped.__cause__ = lost_connection()
    assert is_connection_error(wrapped)


def wrapped_pending_rollback(context: BaseException) -> optuna.exceptions.StorageInternalError:
    """What Optuna raises when its fallback query runs inside a transaction a failure left open."""
    pending = PendingRollbackError("Can't reconnect until invalid transaction is rolled back.")
    pending.__context__ = context
    wrapped = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
    wrapped.__cause__ = pending
    return wrapped


def test_a_transaction_broken_by_a_lost_connection_is_an_outage():
    # seen with two workers and a server restart: the worker died with a traceback
    assert is_connection_error(wrapped_pending_rollback(lost_connection()))
    assert not is_connection_error(wrapped_pending_rollback(KeyError("a failed flush, not the network")))


@pytest.fixture
def storage(tmp_path):
    return PatientRDBStorage(f"sqlite:///{tmp_path / 's.db'}", Patience(30, lambda line: None, sleep=lambda s: None))


def test_a_state_change_that_landed_before_its_reply_was_lost_counts_as_done(storage, monkeypatch):
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    real = optuna.storages.RDBStorage.set_trial_state_values

    def commits_then_loses_the_reply(self, trial_id, state, values=None):
        real(self, trial_id, state, values)
        monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_state_values", real)
        raise lost_connection()

    monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_state_values", commits_then_loses_the_reply)
    assert storage.set_trial_state_values(trial._trial_id, TrialState.COMPLETE, [0.5]) is True
    assert storage.get_trial(trial._trial_id).state == TrialState.COMPLETE
    # a first try that meets a finished trial is a real refusal, as before
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def test_a_grid_point_completed_or_running_elsewhere_is_skipped(storage):
    from cifarlab.sweep.runner import _point_taken

    study = optuna.create_study(storage=storage, study_name="grid")
    for point in (0, 0, 1):
        study.enqueue_trial({}, user_attrs={"point": point})
    first, second, third = study.ask(), study.ask(), study.ask()
    assert not _point_taken(first) and _point_taken(second)  # an earlier trial runs point 0
    study.tell(first, 0.5)
    assert _point_taken(second) and not _point_taken(third)  # and now has completed it
