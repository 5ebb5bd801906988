"""`cifarlab train numpy-mlp` and `cifarlab evaluate` end to end on a tiny synthetic set."""

import dataclasses
import json

import numpy as np
import pytest

from cifarlab.cli.main import main
from cifarlab.training import loop

RUN_FILES = {"config.json", "history.json", "history.csv", "metrics.json", "model.npz", "curves.png",
             "steps.npy", "train_accuracy.npy", "train_loss.npy", "test_accuracy.npy", "test_loss.npy"}
TINY = ["--pipeline", "standardize", "--init", "he", "--hidden", "32", "--steps", "40", "--batch-size", "20", "--eval-every", "10", "--lr", "0.05",
        "--train-eval-size", "0", "--quiet"]


def train(folder, out, *extra):
    return main(["train", "numpy-mlp", "--data", str(folder), "--out", str(out), *TINY, *extra])


def test_run_directory_holds_every_file(learnable_folder, tmp_path):
    assert train(learnable_folder, tmp_path / "run") == 0
    run = tmp_path / "run"
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "numpy-mlp" and config["config"]["hidden"] == [32] and config["seed"] == 42
    assert "cifarlab" in config["code_version"] and len(config["normalization"]["mean"]) == 3
    np.testing.assert_array_equal(np.load(run / "steps.npy"), [10, 20, 30, 40])
    assert np.load(run / "test_accuracy.npy").shape == (4,)
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run / "history.csv").read_text().splitlines()[0].startswith("step,train_accuracy")
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_learnable_set_is_learned(learnable_folder, tmp_path):
    train(learnable_folder, tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8 and metrics["step"] == 40


def test_evaluate_reproduces_the_final_metrics_exactly(learnable_folder, tmp_path, capsys):
    train(learnable_folder, tmp_path / "run")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_final_table_is_printed(learnable_folder, tmp_path, capsys):
    train(learnable_folder, tmp_path / "run")
    out = capsys.readouterr().out
    assert "final metrics at step 40" in out and "test" in out and "train" in out


def test_same_seed_gives_identical_runs(learnable_folder, tmp_path):
    train(learnable_folder, tmp_path / "a", "--dropout", "0.2")
    train(learnable_folder, tmp_path / "b", "--dropout", "0.2")
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "test_loss.npy"), np.load(tmp_path / "b" / "test_loss.npy"))


def test_killed_run_resumes_to_the_uninterrupted_result(learnable_folder, tmp_path, kill_after_evaluations):
    options = ("--dropout", "0.2", "--optimizer", "adam", "--lr", "0.003", "--batch-norm")
    train(learnable_folder, tmp_path / "whole", *options)
    arm, disarm = kill_after_evaluations
    arm(2)  # dies after the step-20 curves, before the step-20 checkpoint
    assert train(learnable_folder, tmp_path / "killed", *options) == 130
    disarm()
    assert main(["train", "numpy-mlp", "--resume", str(tmp_path / "killed"), "--quiet"]) == 0
    for name in ("test_loss.npy", "train_accuracy.npy"):
        np.testing.assert_array_equal(np.load(tmp_path / "whole" / name), np.load(tmp_path / "killed" / name))


def test_early_stopping_rule_counts_evaluations_without_improvement():
    from cifarlab.training.configs import NumpyMLPConfig

    cfg, state, stops = NumpyMLPConfig(early_stop=2), loop.LoopState(), []
    for step, loss in enumerate([3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.0], start=1):
        state = loop.after_evaluation(state, loss, step)
        stops.append(loop.early_stop_due(state, cfg))
    assert stops == [False, False, False, False, False, True, False]
    assert state.best_step == 7 and state.stale_evals == 0  # past the stop, the counter resets


def test_early_stopping_monitors_validation_when_held_out():
    assert loop.monitored_loss({"test": (0.0, 0.1), "val": (0.0, 2.0)}) == 2.0
    assert loop.monitored_loss({"test": (0.0, 0.1)}) == 0.1


def test_early_stopping_run_keeps_the_best_weights(tmp_path, capsys):
    from cifarlab.data.synthetic import make_synthetic, write_image_folder

    # few, very noisy training images and a large step: memorised within a few evaluations
    noisy = write_image_folder(make_synthetic(4, 10, noise=250.0, seed=5), tmp_path / "noisy")
    code = main(["train", "numpy-mlp", "--data", str(noisy), "--out", str(tmp_path / "run"), "--hidden", "256",
                 "--pipeline", "standardize", "--init", "he",
                 "--steps", "400", "--batch-size", "20", "--eval-every", "10", "--lr", "0.5",
                 "--train-eval-size", "0", "--early-stop", "3", "--quiet"])
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert metrics["stopped_at"] < 400
    best = history["step"].index(metrics["step"])
    assert metrics["test_loss"] == history["test_loss"][best]
    assert all(later > metrics["test_loss"] - loop.MIN_IMPROVEMENT for later in history["test_loss"][best + 1:])
    capsys.readouterr()
    main(["evaluate", str(tmp_path / "run")])
    assert "reproduced exactly" in capsys.readouterr().out


def test_diverging_loss_stops_with_a_clear_message(learnable_folder, tmp_path, capsys):
    code = train(learnable_folder, tmp_path / "run", "--lr", "1e30", "--steps", "40")
    err = capsys.readouterr().err
    assert code == 2 and "training loss became" in err and err.count("\n") == 1


def test_preset_applies_but_explicit_options_win(learnable_folder, tmp_path, monkeypatch):
    from cifarlab.training import registry

    original = registry.model_registry

    def with_preset():
        models = original()
        entry = models["numpy-mlp"]
        models["numpy-mlp"] = dataclasses.replace(entry, presets={"probe": {"momentum": 0.5, "steps": 999}})
        return models

    monkeypatch.setattr(registry, "model_registry", with_preset)
    assert train(learnable_folder, tmp_path / "run", "--preset", "probe") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["momentum"] == 0.5 and config["steps"] == 40


def test_every_offered_preset_says_what_it_is_for_in_the_help(capsys):
    from cifarlab.training.registry import model_registry

    for name, entry in model_registry().items():
        assert set(entry.preset_purposes) == set(entry.presets), name
        with pytest.raises(SystemExit):
            main(["train", name, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert all(f"{preset}: {purpose}" in help_text for preset, purpose in entry.preset_purposes.items())


@pytest.mark.parametrize("bad, message", [
    (["--steps", "0"], "needs a budget: --steps 0 trains nothing"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--batch-size", "100000"], "batch size"),
    (["--nesterov"], "--nesterov needs"),
])
def test_bad_options_are_one_line_errors(learnable_folder, tmp_path, capsys, bad, message):
    assert train(learnable_folder, tmp_path / "run", *bad) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_epoch_budget_of_zero_is_refused(learnable_folder, tmp_path, capsys):
    assert main(["train", "numpy-mlp", "--data", str(learnable_folder), "--out", str(tmp_path / "run"),
                 "--epochs", "0"]) == 2
    assert "--epochs 0 trains nothing" in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("flag, value", [("--lr", "nan"), ("--momentum", "inf"), ("--weight-decay", "-inf")])
def test_float_options_refuse_nan_and_inf(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "numpy-mlp", f"{flag}={value}"])
    assert exit_info.value.code == 2 and "must be a finite number" in capsys.readouterr().err


def test_a_config_file_refuses_nan_too(learnable_folder, tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("lr = nan\n")
    assert train(learnable_folder, tmp_path / "run", "--config", str(tmp_path / "bad.toml")) == 2
    assert "option 'lr' must be a finite number" in capsys.readouterr().err


def test_a_diverging_run_prints_only_the_nan_guards_line(learnable_folder, tmp_path):
    """No RuntimeWarning from NumPy before cifarlab's own message (run as a user runs it)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "cifarlab", "train", "numpy-mlp", "--data", str(learnable_folder),
               "--out", str(tmp_path / "run"), *TINY, "--lr", "1e30", "--steps", "40"]
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1 and "training loss became" in finished.stderr, finished.stderr


def test_unparseable_hidden_sizes_are_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "numpy-mlp", "--hidden", "100,abc"])
    assert exit_info.value.code == 2 and "comma-separated integers" in capsys.readouterr().err


def test_existing_run_is_not_overwritten(learnable_folder, tmp_path, capsys):
    train(learnable_folder, tmp_path / "run")
    assert train(learnable_folder, tmp_path / "run") == 2
    assert "already holds a run" in capsys.readouterr().err


def test_evaluate_of_a_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_plot_compares_runs(learnable_folder, tmp_path):
    train(learnable_folder, tmp_path / "a")
    train(learnable_folder, tmp_path / "b", "--lr", "0.01")
    assert main(["plot", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "both.png")]) == 0
    assert (tmp_path / "both.png").stat().st_size > 10000


def test_gradcheck_command_passes(capsys):
    assert main(["gradcheck"]) == 0
    assert "12 passed, 0 failed" in capsys.readouterr().out
