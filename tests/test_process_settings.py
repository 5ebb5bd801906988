"""process/settings.py: a run sets threads, seeds and memory reuse for its own length, through
one owner, whoever starts it (the CLI, cifarlab.train, a sweep), and gives the process back
its own settings after."""

import random

import numpy as np
import pytest
import torch

import cifarlab
from cifarlab.cli.main import main
from cifarlab.process.memory_reuse import DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD, NEVER_TRIM, starting_values
from cifarlab.process.settings import run_settings

TINY_MLP = {"pipeline": "standardize", "hidden": (16,), "steps": 4, "batch_size": 20, "train_eval_size": 0,
            "device": "cpu"}


@pytest.fixture
def threads_in_training(monkeypatch):
    """torch's thread count seen by each run's training loop, in order."""
    from cifarlab.training import run

    seen, fit = [], run.fit

    def recording_fit(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return fit(*args, **kwargs)

    monkeypatch.setattr(run, "fit", recording_fit)
    return seen


@pytest.fixture
def three_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def test_a_sweep_trial_trains_on_the_threads_its_experiment_asks_for(learnable_folder, tmp_path, threads_in_training,
                                                                     three_threads):
    (tmp_path / "e.toml").write_text(
        '[experiment]\nname="threads"\nmodel="mlp"\nsampler="grid"\npruner="none"\n'
        '[fixed]\ndevice="cpu"\nthreads=1\nsteps=4\nbatch_size=20\neval_every=2\ntrain_eval_size=0\nhidden="16"\n'
        'pipeline="standardize"\n[[points]]\nlr=0.1\n[[points]]\nlr=0.01\n')
    assert main(["sweep", str(tmp_path / "e.toml"), "--data", str(learnable_folder),
                 "--sweep-dir", str(tmp_path / "sweeps")]) == 0
    assert threads_in_training == [1, 1]
    assert torch.get_num_threads() == three_threads


def test_train_from_python_gives_the_caller_its_threads_and_generators_back(learnable_folder, tmp_path,
                                                                            threads_in_training, three_threads):
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    before = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    run = cifarlab.train("mlp", data=str(learnable_folder), out=tmp_path / "run", progress=False, threads=1,
                         **TINY_MLP)
    assert run.metrics["step"] == 4 and threads_in_training == [1]
    assert torch.get_num_threads() == three_threads
    assert random.getstate() == before[0]
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), before[1]))
    assert torch.equal(torch.random.get_rng_state(), before[2])


def test_inside_a_run_the_generators_are_seeded_by_the_run_seed():
    with run_settings(7):
        inside = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    assert inside == (random.random(), np.random.rand(), torch.rand(1).item())


def test_a_numpy_run_leaves_torch_alone_when_torch_is_not_loaded(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "torch")  # as in a process that never imported it
    with run_settings(7, with_torch=False):
        assert "torch" not in sys.modules
    assert "torch" not in sys.modules


@pytest.mark.parametrize("environment, values", [
    ({}, (DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD)),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"}, (0, NEVER_TRIM)),
    ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0x100000"}, (DEFAULT_MMAP_MAX, 0x100000)),
    ({"MALLOC_MMAP_MAX_": "7", "MALLOC_TRIM_THRESHOLD_": "99999999999"}, (7, NEVER_TRIM)),
    ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=lots"}, (DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD)),
])
def test_the_malloc_settings_a_process_started_with(environment, values, monkeypatch):
    for name in ("GLIBC_TUNABLES", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert starting_values() == values
