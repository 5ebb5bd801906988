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
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.test_sweep import write_grid


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


@pytest.fixture
def postgres_url(tmp_path_factory):
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
        yield f"postgresql+psycopg2://cifarlab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)


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
