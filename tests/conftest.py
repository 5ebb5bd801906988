"""Shared fixtures: tiny data sets written in each supported form, an isolated cache.

Tests whose subject is not what a run shows at its end train with --no-pictures (each run's
confusion matrix and mistakes cost about half a second); the CLI, API, sweep and notebook tests
keep the default, and test_cli_train_torch.py reads the pictures back."""

from __future__ import annotations

from pathlib import Path

import pytest

from cifarlab.data.synthetic import make_synthetic, tar_directory, write_image_folder, write_python_batches

SHARED_JPEG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own cache directory and no inherited data source."""
    home = tmp_path / "cifarlab-home"
    monkeypatch.setenv("CIFARLAB_HOME", str(home))
    monkeypatch.delenv("CIFARLAB_DATA", raising=False)
    return home


@pytest.fixture
def tiny():
    return make_synthetic(train_per_class=5, test_per_class=2, seed=1)


@pytest.fixture
def tiny_png_folder(tmp_path, tiny):
    return write_image_folder(tiny, tmp_path / "png-folder", ".png")


@pytest.fixture
def learnable_folder(tmp_path):
    """A data set an MLP can learn in a few dozen steps, as a PNG image folder."""
    data = make_synthetic(train_per_class=30, test_per_class=10, noise=30.0, seed=3)
    return write_image_folder(data, tmp_path / "learnable", ".png")


@pytest.fixture(scope="session")
def real_data_home(tmp_path_factory):
    """One cache for all real-data tests, so the JPEG archive is decoded once per test run."""
    return tmp_path_factory.mktemp("real-data-home")


@pytest.fixture
def real_data_path(real_data_home, monkeypatch):
    if not SHARED_JPEG.is_file():
        pytest.skip(f"real CIFAR-10 copy not found at {SHARED_JPEG} (needs ../shared/data beside the checkout)")
    monkeypatch.setenv("CIFARLAB_HOME", str(real_data_home))
    return SHARED_JPEG


@pytest.fixture
def kill_after_evaluations(monkeypatch):
    """`arm(n)`: the n-th evaluation's curves are written, then the process 'dies' before
    that evaluation's checkpoint (KeyboardInterrupt: the CLI exits 130); `disarm()` undoes it."""
    from cifarlab.training import loop

    original = loop.write_history

    def arm(evaluations: int):
        calls = {"n": 0}

        def dying_write_history(run_dir, history):
            original(run_dir, history)
            calls["n"] += 1
            if calls["n"] == evaluations:
                raise KeyboardInterrupt

        monkeypatch.setattr(loop, "write_history", dying_write_history)

    def disarm():
        monkeypatch.setattr(loop, "write_history", original)

    return arm, disarm


@pytest.fixture
def signal_during_step(monkeypatch):
    """`arm(step, number)`: the process sends itself signal `number` while the 0-based `step`
    is being taken (when the loop asks for its learning rate), as a scheduler's SIGTERM or a
    Ctrl-C would arrive in the middle of a step."""
    import os
    import signal

    from cifarlab.training import loop

    original = loop.lr_at

    def arm(step: int, number: int = signal.SIGTERM):
        def signalling_lr_at(current, *args, **kwargs):
            if current == step:
                os.kill(os.getpid(), number)
            return original(current, *args, **kwargs)

        monkeypatch.setattr(loop, "lr_at", signalling_lr_at)

    return arm


__all__ = ["SHARED_JPEG", "tar_directory", "write_python_batches"]
