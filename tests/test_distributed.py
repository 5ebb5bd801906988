"""Data-parallel training with torchrun (2 processes, gloo on CPU) equals one process."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cifarlab.cli.main import main

# gloo on the CPU, also where CUDA is
OPTIONS = ["--pipeline", "standardize", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10",
           "--lr", "3e-3", "--train-eval-size", "0", "--augment", "--quiet", "--device", "cpu"]


def test_two_processes_follow_the_single_process_run(learnable_folder, tmp_path, capsys):
    single, double = tmp_path / "single", tmp_path / "double"
    assert main(["train", "mlp", "--data", str(learnable_folder), "--out", str(single), *OPTIONS]) == 0
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "cifarlab", "train", "mlp", "--distributed", "--data", str(learnable_folder), "--out", str(double),
         *OPTIONS], capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[:3000]
    assert launched.stdout.count("final metrics") == 1  # rank 0 alone reports
    for name in ("train_loss.npy", "test_loss.npy", "test_accuracy.npy"):
        np.testing.assert_allclose(np.load(double / name), np.load(single / name), rtol=1e-5, atol=1e-7)
    record = json.loads((double / "config.json").read_text())
    assert record["runtime"]["distributed"] is True and record["config"]["batch_size"] == 20
    # the run is usable afterwards by a single process: evaluated and used for predictions
    capsys.readouterr()
    assert main(["evaluate", str(double)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    image = learnable_folder / "train" / "horse" / "0003.png"
    assert main(["predict", str(double), str(image), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.count("%") == 3


def test_distributed_without_torchrun_is_a_clear_error(learnable_folder, tmp_path, capsys, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["train", "mlp", "--distributed", "--data", str(learnable_folder), "--out", str(tmp_path / "r"),
                 *OPTIONS]) == 2
    assert "torchrun --nproc-per-node N" in capsys.readouterr().err


@pytest.mark.parametrize("world, n, expected", [(2, 10, [(0, 5), (5, 10)]), (3, 10, [(0, 3), (3, 6), (6, 10)])])
def test_shards_cover_the_data_once(world, n, expected):
    from cifarlab.training.distributed import ProcessGroup

    assert [(g.shard(n).start, g.shard(n).stop) for g in (ProcessGroup(r, world) for r in range(world))] == expected


def test_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    import torch

    from cifarlab.errors import CifarlabError
    from cifarlab.training import distributed

    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(CifarlabError, match="no GPU of its own"):
        distributed.join(use_cuda=True)


def test_the_ddp_wrapper_is_gone_before_the_group_is_torn_down(monkeypatch):
    """Were DDP's reducer the group's last owner, tearing gloo down could deadlock on the GIL."""
    import socket
    import weakref

    import torch.distributed as dist

    from cifarlab.training import distributed
    from cifarlab.training.registry import DataShape, get_model
    from cifarlab.training.resolve import resolve

    with socket.socket() as probe:  # a free port for this one-process group
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(name, value)
    cfg, runtime = resolve("mlp", {"device": "cpu", "distributed": True, "hidden": [8]})
    learner = get_model("mlp").make_learner(cfg, DataShape(10, 100), runtime)
    assert type(learner.trained).__name__ == "DistributedDataParallel"
    wrapper = weakref.ref(learner.trained)
    alive_at_leave = []
    real_leave = distributed.leave

    def leave(**options):
        alive_at_leave.append(wrapper() is not None)
        real_leave(**options)

    monkeypatch.setattr(distributed, "leave", leave)
    learner.close(finished=True)
    assert alive_at_leave == [False]
    assert not dist.is_initialized()
