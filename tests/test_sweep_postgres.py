"""Two sweep workers share one study on a real PostgreSQL server on 127.0.0.1.

The server is started here in a throw-away data directory; the test is skipped, with the
reason, only where PostgreSQL cannot be started (.ci/run installs it).
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.test_sweep import write_grid

SLOW_STEPS = 600  # steps of a grid trial: a few seconds each on a 2-core CPU


def find_pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the 'postgres' system user when we are root."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without `runuser` to start PostgreSQL as another user")
    return [runuser, "-u", "postgres", "--", *command]


class Server:
    """A throw-away PostgreSQL server: `url`, and `restart()` / `stop()` as an operator would."""

    def __init__(self, pg_ctl: str, data: Path, options: str, log: Path, port: int):
        self.pg_ctl, self.data, self.options, self.log = pg_ctl, data, options, log
        self.url = f"postgresql+psycopg2://cifarlab@127.0.0.1:{port}/postgres"

    def ctl(self, *action: str) -> None:
        subprocess.run(as_server_user([self.pg_ctl, "-D", str(self.data), "-o", self.options, "-l", str(self.log),
                                       "-w", *action]), capture_output=True, check=True)

    def restart(self) -> None:
        self.ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")


@pytest.fixture
def postgres_server(tmp_path_factory):
    initdb, pg_ctl = find_pg_binary("initdb"), find_pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run installs them")
    pytest.importorskip("psycopg2", reason="psycopg2 is needed to talk to PostgreSQL (pip install '.[postgres]')")
    root = tmp_path_factory.mktemp("pg")
    data = root / "data"
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres")
        except (LookupError, PermissionError) as exc:
            pytest.skip(f"cannot hand the data directory to the postgres user ({exc})")
        root.chmod(0o755)
        for parent in root.parents:  # the server user must be able to reach its directory
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    port = free_port()
    init = subprocess.run(as_server_user([initdb, "-D", str(data), "-A", "trust", "-U", "cifarlab"]),
                          capture_output=True, text=True)
    if init.returncode:
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    start = subprocess.run(as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
                                           "start"]), capture_output=True, text=True)
    if start.returncode:
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-300:]}")
    try:
        yield Server(pg_ctl, data, options, root / "log", port)
    finally:
        subprocess.run(as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)


@pytest.fixture
def postgres_url(postgres_server):
    return postgres_server.url


def test_two_workers_share_a_postgres_study_without_duplicates(postgres_url, learnable_folder, tmp_path):
    points = [{"lr": lr} for lr in (0.05, 0.04, 0.03, 0.02, 0.01, 0.005)]
    exp = write_grid(tmp_path / "pg.toml", "shared", points, steps=100)
    command = [sys.executable, "-m", "cifarlab", "sweep", str(exp), "--data", str(learnable_folder),
               "--storage", postgres_url, "--sweep-dir", str(tmp_path / "sweeps"), "--heartbeat", "2"]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    trials = study.get_trials()
    completed = [t.user_attrs["point"] for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(completed) == list(range(6))  # every point once, none twice
    assert not [t for t in trials if t.state in (TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING)]
    trained_by = [sum(f"trial {t.number}:" in out for out in outputs) for t in trials if t.state == TrialState.COMPLETE]
    assert trained_by == [1] * 6
    assert all(out.count("-> test_accuracy") >= 1 for out in outputs), "both workers should have trained"


def start_workers(command: list[str], count: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(count)]


def test_workers_ride_out_two_database_restarts(postgres_server, learnable_folder, tmp_path):
    """Two workers, trials of a few seconds, the server restarted twice mid-sweep: both finish by
    themselves, every grid point is COMPLETE exactly once, and no output holds a traceback."""
    points = [{"lr": lr} for lr in (0.05, 0.04, 0.03, 0.02, 0.01, 0.005)]
    exp = write_grid(tmp_path / "pg.toml", "restarts", points, steps=SLOW_STEPS)
    command = [sys.executable, "-m", "cifarlab", "sweep", str(exp), "--data", str(learnable_folder),
               "--storage", postgres_server.url, "--sweep-dir", str(tmp_path / "sweeps"), "--heartbeat", "2",
               "--db-patience", "60"]
    workers = start_workers(command)
    for pause in (5, 5):  # into the first trials, then again a few trials later
        time.sleep(pause)
        postgres_server.restart()
    outputs = [w.communicate(timeout=400)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert not any("Traceback" in out for out in outputs), outputs
    assert any("database unreachable" in out for out in outputs), "no worker noticed a restart"
    study = optuna.load_study(study_name="restarts", storage=postgres_server.url)
    completed = [t.user_attrs["point"] for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert sorted(completed) == list(range(len(points)))  # every point once, none twice
    assert not [t for t in study.get_trials() if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def test_a_worker_against_a_stopped_server_says_so_within_its_patience(postgres_server, learnable_folder, tmp_path):
    postgres_server.stop()
    exp = write_grid(tmp_path / "pg.toml", "down", [{"lr": 0.05}])
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-m", "cifarlab", "sweep", str(exp), "--data", str(learnable_folder),
                               "--storage", postgres_server.url, "--sweep-dir", str(tmp_path / "s"),
                               "--db-patience", "3"], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    errors = finished.stderr.strip().splitlines()
    assert len(errors) == 1 and "unreachable for 3 s (--db-patience)" in errors[0], finished.stderr
    assert "Traceback" not in finished.stdout + finished.stderr
    assert time.monotonic() - started < 60


def files_holding(root: Path, secret: str) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]


def test_a_password_in_the_storage_url_is_never_shown_or_written(postgres_server, learnable_folder, tmp_path):
    """The server trusts 127.0.0.1, so any password connects: the worker runs its whole sweep with it."""
    secret = "S3cret-Pw-4711"
    url = postgres_server.url.replace("://cifarlab@", f"://cifarlab:{secret}@")
    exp = write_grid(tmp_path / "pg.toml", "secret", [{"lr": 0.05}], steps=20)
    sweeps = tmp_path / "sweeps"
    finished = subprocess.run([sys.executable, "-m", "cifarlab", "sweep", str(exp), "--data", str(learnable_folder),
                               "--sweep-dir", str(sweeps)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "CIFARLAB_STORAGE": url})
    assert finished.returncode == 0, finished.stderr
    output = finished.stdout + finished.stderr
    assert secret not in output and "cifarlab:***@127.0.0.1" in output
    assert files_holding(sweeps, secret) == [] and list(sweeps.rglob("metrics.json"))
    study = optuna.load_study(study_name="secret", storage=postgres_server.url)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE]
    assert secret not in str([t.user_attrs for t in study.get_trials()] + [study.user_attrs])
