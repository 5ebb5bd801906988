"""A run stopped by SIGTERM or SIGINT at any step checkpoints that step, says how to go on,
exits with status 75, and resumes to exactly the uninterrupted run; a job script re-run
unchanged with --auto-resume finds it."""

import json
import random
import signal

import numpy as np
import pytest

from cifarlab.cli.main import main
from cifarlab.errors import STOPPED_EXIT_STATUS

RUNS = {
    "numpy-mlp": ["numpy-mlp", "--hidden", "16", "--steps", "20", "--batch-size", "20", "--eval-every", "10",
                  "--dropout", "0.2", "--pipeline", "standardize", "--init", "he", "--lr", "0.05"],
    "mlp": ["mlp", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10", "--dropout", "0.2",
            "--augment", "--schedule", "cosine"],
    # lookahead from epoch 1 (6 steps an epoch), the bias frozen after it, alternating flips, Muon
    "fastnet": ["fastnet", "--widths", "8,16,16", "--epochs", "3", "--batch-size", "50", "--eval-every", "4",
                "--train-eval-size", "0", "--lookahead-epochs", "1", "--whiten-bias-epochs", "1", "--optimizer", "muon",
                "--flip", "alternate", "--warmup-steps", "2"],
}
TOTAL_STEPS = {"numpy-mlp": 20, "mlp": 20, "fastnet": 18}
CURVES = ("test_loss.npy", "train_loss.npy", "test_accuracy.npy")


def command(model, folder, out, *extra):
    return ["train", RUNS[model][0], "--data", str(folder), "--out", str(out), *RUNS[model][1:], "--quiet", "--no-pictures", *extra]


@pytest.mark.parametrize("model", list(RUNS))
def test_a_run_stopped_by_sigterm_resumes_to_the_uninterrupted_result(model, learnable_folder, tmp_path, capsys,
                                                                     signal_during_step):
    assert main(command(model, learnable_folder, tmp_path / "whole")) == 0
    step = random.randrange(1, TOTAL_STEPS[model] - 1)  # 0-based: the step under way when the signal comes
    signal_during_step(step)
    capsys.readouterr()
    assert main(command(model, learnable_folder, tmp_path / "stopped")) == STOPPED_EXIT_STATUS, f"step {step}"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"stopped by SIGTERM after step {step + 1} of" in err and "--resume" in err
    signal_during_step(-1)  # no more signals
    assert main(["train", RUNS[model][0], "--resume", str(tmp_path / "stopped"), "--quiet", "--no-pictures"]) == 0
    for name in CURVES:
        np.testing.assert_array_equal(np.load(tmp_path / "whole" / name), np.load(tmp_path / "stopped" / name),
                                      err_msg=f"{name}, signal during step {step}")
    whole, stopped = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("whole", "stopped"))
    assert {k: v for k, v in whole.items() if "seconds" not in k} == {k: v for k, v in stopped.items()
                                                                      if "seconds" not in k}


def test_ctrl_c_stops_the_same_way(learnable_folder, tmp_path, capsys, signal_during_step):
    signal_during_step(12, signal.SIGINT)
    assert main(command("numpy-mlp", learnable_folder, tmp_path / "run")) == STOPPED_EXIT_STATUS
    assert "stopped by SIGINT after step 13 of 20" in capsys.readouterr().err


def test_a_job_script_rerun_with_auto_resume_continues_its_run(learnable_folder, tmp_path, capsys,
                                                              signal_during_step):
    job = command("mlp", learnable_folder, tmp_path / "run", "--auto-resume")
    assert main(command("mlp", learnable_folder, tmp_path / "whole")) == 0
    signal_during_step(14)
    assert main(job) == STOPPED_EXIT_STATUS  # the first attempt: starts the run, pre-empted at step 15
    signal_during_step(-1)
    assert main(job) == 0  # the same command again: continues it
    for name in CURVES:
        np.testing.assert_array_equal(np.load(tmp_path / "whole" / name), np.load(tmp_path / "run" / name))
    capsys.readouterr()
    assert main(command("mlp", learnable_folder, tmp_path / "run", "--auto-resume", "--lr", "0.01")) == 2
    assert "holds a run with another recipe (lr 0.002 there, 0.01 here)" in capsys.readouterr().err
