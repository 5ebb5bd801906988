"""What a run survives, and what it says when it cannot go on: broken files, a full disk,
an unreadable cache entry. Each fault gets one line that names the file, never a traceback."""

import json
import resource
import subprocess
import sys

import numpy as np
import pytest

from cifarlab.cli.main import main

NUMPY = ["numpy-mlp", "--hidden", "16", "--steps", "20", "--batch-size", "20", "--eval-every", "10", "--quiet", "--no-pictures"]
MLP = ["mlp", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10", "--quiet", "--no-pictures"]


def train(arguments, folder, out, *extra):
    return main(["train", arguments[0], "--data", str(folder), "--out", str(out), *arguments[1:], *extra])


def truncate(path, keep: int = 100):
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize("arguments, broken, command", [(NUMPY, "model.npz", "evaluate"), (MLP, "checkpoint.pt", "evaluate"),
                                                        (NUMPY, "mean_image.npy", "predict"),
                                                        (MLP, "mean_image.npy", "predict")])
def test_unreadable_weights_are_one_line_naming_the_file(learnable_folder, tmp_path, capsys, arguments, broken,
                                                        command):
    run = tmp_path / "run"
    assert train(arguments, learnable_folder, run) == 0
    truncate(run / broken)
    capsys.readouterr()
    image = learnable_folder / "test" / "cat" / "0000.png"
    assert main([command, str(run), *([str(image)] if command == "predict" else [])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(run / broken) in err and "Traceback" not in err


def limited_to(size: int):
    """For a child process: files it writes may not grow past `size` bytes (writes beyond fail
    with EFBIG, as on a full disk)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_the_last_checkpoint(learnable_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(MLP, learnable_folder, run) == 0  # a finished run, checkpoint at step 20 (about 1.2 MB)
    saved = json.loads((run / "metrics.json").read_text())
    # continued to 40 steps where no file may grow past 600 kB: the checkpoint at step 30 cannot be written
    finished = subprocess.run([sys.executable, "-m", "cifarlab", "train", "mlp", "--resume", str(run), "--steps", "40",
                               "--quiet", "--no-pictures"], capture_output=True, text=True, preexec_fn=limited_to(600_000))
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.count("\n") == 1 and f"cannot write {run / 'checkpoint.pt'}" in finished.stderr
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # no half-written file left
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0  # the step-20 checkpoint is intact and matches its metrics
    assert "reproduced exactly" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text()) == saved


def test_an_unreadable_cache_entry_is_rebuilt_once_and_replaced(learnable_folder, isolated_home):
    from cifarlab.data.store import cache_path, load_cifar10

    first = load_cifar10(str(learnable_folder), progress=False)
    entry = cache_path(learnable_folder)
    truncate(entry / "train_images.npy", keep=1000)
    again = load_cifar10(str(learnable_folder), progress=False)  # decoded again, and the entry replaced
    np.testing.assert_array_equal(again.train_images, first.train_images)
    assert (entry / "train_images.npy").stat().st_size > 1000
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no stale or partial entry beside it
