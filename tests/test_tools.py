"""The tools PyTorch users expect: TensorBoard events, a per-step CSV, config files, readable
curves and progress, extending a finished run, and where a classifier goes wrong."""

import csv
import json

import numpy as np
import pytest

from cifarlab.cli.main import main

MLP = ["--pipeline", "standardize", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "10",
       "--lr", "3e-3", "--train-eval-size", "0"]


def train(model, folder, out, *options):
    return main(["train", model, "--data", str(folder), "--out", str(out), *options])


@pytest.fixture
def mlp_run(learnable_folder, tmp_path):
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--quiet", "--no-pictures") == 0
    return tmp_path / "run"


def scalars(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def test_tensorboard_events_hold_the_learning_curves(mlp_run):
    history = json.loads((mlp_run / "history.json").read_text())
    for split in ("train", "test"):
        for kind in ("accuracy", "loss"):
            logged = scalars(mlp_run, f"{split}/{kind}")
            assert [step for step, _ in logged] == history["step"]
            np.testing.assert_allclose([value for _, value in logged], history[f"{split}_{kind}"], rtol=1e-6)
    steps = list(csv.DictReader((mlp_run / "steps.csv").open()))
    logged = scalars(mlp_run, "step/loss")
    assert [step for step, _ in logged] == list(range(1, 21))
    np.testing.assert_allclose([value for _, value in logged], [float(r["loss"]) for r in steps], rtol=1e-6)
    assert [value for _, value in scalars(mlp_run, "step/lr")] == pytest.approx([3e-3] * 20)
    assert len(scalars(mlp_run, "step/images_per_second")) == 20


def test_steps_csv_has_one_row_per_step_with_its_loss(mlp_run):
    rows = list(csv.DictReader((mlp_run / "steps.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    assert all(float(r["loss"]) > 0 and float(r["images_per_second"]) > 0 and float(r["lr"]) == 3e-3 for r in rows)


def test_a_killed_run_resumes_with_one_csv_row_per_step(learnable_folder, tmp_path, kill_after_evaluations):
    arm, disarm = kill_after_evaluations
    arm(2)  # dies at step 20, before its checkpoint: resumes from step 10
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--steps", "30", "--quiet", "--no-pictures") == 130
    arm(2)  # the second time, dies at step 30, after the step-20 checkpoint
    assert main(["train", "mlp", "--resume", str(tmp_path / "run"), "--quiet", "--no-pictures"]) == 130
    disarm()
    assert main(["train", "mlp", "--resume", str(tmp_path / "run"), "--quiet", "--no-pictures"]) == 0
    rows = list(csv.DictReader((tmp_path / "run" / "steps.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(1, 31))


def test_a_config_file_round_trips_through_a_run(learnable_folder, tmp_path, capsys):
    (tmp_path / "my.toml").write_text('hidden = [24, 12]\nlr = 0.004\nbatch_norm = "torch"\nsteps = 20\n'
                                      'eval_every = 10\nbatch_size = 20\npipeline = "standardize"\n')
    assert train("mlp", learnable_folder, tmp_path / "a", "--config", str(tmp_path / "my.toml"), "--quiet", "--no-pictures") == 0
    first = json.loads((tmp_path / "a" / "config.json").read_text())["config"]
    assert first["hidden"] == [24, 12] and first["lr"] == 0.004 and first["batch_norm"] == "torch"
    # config.json -> a new run with the same recipe
    assert train("mlp", learnable_folder, tmp_path / "b", "--config", str(tmp_path / "a" / "config.json"),
                 "--quiet", "--no-pictures") == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["config"] == first
    # --print-config writes a file that reads back to the same config
    capsys.readouterr()
    assert main(["train", "mlp", "--config", str(tmp_path / "a" / "config.json"), "--print-config"]) == 0
    (tmp_path / "printed.toml").write_text(capsys.readouterr().out)
    assert train("mlp", learnable_folder, tmp_path / "c", "--config", str(tmp_path / "printed.toml"), "--quiet", "--no-pictures") == 0
    assert json.loads((tmp_path / "c" / "config.json").read_text())["config"] == first


def test_a_flag_beats_the_file(learnable_folder, tmp_path, capsys):
    (tmp_path / "my.toml").write_text("lr = 0.004\nsteps = 20\nhidden = [16]\n")
    assert main(["train", "mlp", "--config", str(tmp_path / "my.toml"), "--lr", "0.001", "--epochs", "2",
                 "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert "lr = 0.001" in printed and "epochs = 2.0" in printed and "steps = 0" in printed
    assert "hidden = [16]" in printed


@pytest.mark.parametrize("text, message", [
    ("learning_rate = 0.1\n", "unknown option 'learning_rate'"),
    ('lr = "fast"\n', "option 'lr' must be a float"),
    ("dropout = 1.5\n", "--dropout must be in [0, 1)"),
    ("[train]\nlr = 0.1\n", "plain keys"),
    ("lr = \n", "not valid TOML"),
])
def test_bad_config_files_are_one_line_errors(tmp_path, capsys, text, message):
    (tmp_path / "bad.toml").write_text(text)
    assert main(["train", "mlp", "--config", str(tmp_path / "bad.toml"), "--print-config"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_run_evaluated_once_still_draws_a_curve(learnable_folder, tmp_path):
    from cifarlab.rundir.curves import curves_figure
    from cifarlab.rundir.files import read_history
    from cifarlab.rundir.logs import StepLog

    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--eval-every", "0", "--quiet", "--no-pictures") == 0
    history, steps = read_history(tmp_path / "run"), StepLog.read(tmp_path / "run")
    assert history.step == [20]
    loss_axis = curves_figure({"mlp": history}, step_logs={"mlp": steps}).axes[1]
    assert max(len(line.get_xdata()) for line in loss_axis.get_lines()) == 20  # the per-step curve
    assert all(line.get_marker() == "o" for line in loss_axis.get_lines()[1:])  # evaluations are visible dots


def test_progress_is_a_line_per_evaluation_outside_a_terminal(learnable_folder, tmp_path, capsys):
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("step ")] == ["step 10/20", "step 20/20"]


def test_a_finished_constant_rate_run_extends_to_more_steps(learnable_folder, tmp_path):
    assert train("mlp", learnable_folder, tmp_path / "long", *MLP, "--steps", "40", "--quiet", "--no-pictures") == 0
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--quiet", "--no-pictures") == 0
    assert main(["train", "mlp", "--resume", str(tmp_path / "run"), "--steps", "40", "--quiet", "--no-pictures"]) == 0
    for name in ("test_loss.npy", "train_loss.npy", "steps.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "run" / name), np.load(tmp_path / "long" / name), rtol=1e-6)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["steps"] == 40


def test_a_decaying_schedule_cannot_be_extended(learnable_folder, tmp_path, capsys):
    assert train("mlp", learnable_folder, tmp_path / "run", *MLP, "--schedule", "cosine", "--quiet", "--no-pictures") == 0
    assert main(["train", "mlp", "--resume", str(tmp_path / "run"), "--steps", "40"]) == 2
    assert "--schedule cosine depends on the total steps" in capsys.readouterr().err


def test_the_confusion_matrix_adds_up_to_the_test_set_and_its_accuracy(mlp_run, capsys):
    assert main(["evaluate", str(mlp_run), "--misclassified", "4"]) == 0
    rows = list(csv.DictReader((mlp_run / "per_class.csv").open()))
    matrix = np.array([[int(r[key]) for key in r if key.startswith("predicted_")] for r in rows])
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    assert matrix.sum() == 100  # the synthetic test set
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["test_accuracy"])
    for index, row in enumerate(rows):  # each class: its images, the correct ones, their ratio
        assert (int(row["images"]), int(row["correct"])) == (matrix[index].sum(), matrix[index, index])
        assert float(row["accuracy"]) == pytest.approx(matrix[index, index] / matrix[index].sum())
    for name in ("confusion_matrix.png", "misclassified.png"):
        assert (mlp_run / name).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_draws_every_picture_from_one_read_of_the_data(mlp_run, monkeypatch):
    import cifarlab.data.store as store

    reads, read = [], store._load_cache
    monkeypatch.setattr(store, "_load_cache", lambda path: reads.append(path) or read(path))
    assert main(["evaluate", str(mlp_run), "--show", "--misclassified", "4"]) == 0
    for name in ("confusion_matrix.png", "misclassified.png", "first_layer.png", "saliency.png"):
        assert (mlp_run / name).read_bytes()[:4] == b"\x89PNG"
    assert len(reads) == 1  # the decoded-array cache, read once for the metrics and every picture


def test_most_confident_mistakes_come_first():
    from cifarlab.rundir.analysis import confusion_matrix, most_confident_mistakes, per_class_accuracy

    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    labels = np.array([0, 0, 0, 1])  # wrong: 1 (0.8 sure), 2 (0.6), 3 (0.7)
    assert most_confident_mistakes(probabilities, labels, 2).tolist() == [1, 3]
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), 2)
    assert matrix.tolist() == [[1, 2], [1, 0]] and per_class_accuracy(matrix).tolist() == [1 / 3, 0.0]


def test_the_numpy_engine_trains_and_logs_without_torch(learnable_folder, tmp_path, monkeypatch):
    import sys

    for name in ("torch", "torch.utils.tensorboard"):
        monkeypatch.setitem(sys.modules, name, None)  # `import torch` now fails, as where it is not installed
    assert train("numpy-mlp", learnable_folder, tmp_path / "run", *MLP, "--init", "he", "--lr", "0.05",
                 "--quiet", "--no-pictures") == 0
    assert len(list(csv.DictReader((tmp_path / "run" / "steps.csv").open()))) == 20
    assert len(scalars(tmp_path / "run", "step/loss")) == 20  # TensorBoard's own writer needs no torch


def test_sweep_trials_log_their_options_and_results_for_tensorboard(learnable_folder, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tests.test_sweep import write_grid

    exp = write_grid(tmp_path / "g.toml", "hp", [{"lr": 0.05}])
    assert main(["sweep", str(exp), "--data", str(learnable_folder), "--sweep-dir", str(tmp_path / "s")]) == 0
    events = EventAccumulator(str(tmp_path / "s" / "hp" / "trial-0000"))
    events.Reload()
    assert events.PluginTagToContent("hparams")
    assert scalars(tmp_path / "s" / "hp" / "trial-0000", "hparam/test_accuracy")[0][1] > 0.5


def test_early_imports_go_on_past_a_missing_module(monkeypatch):
    import sys

    from cifarlab.process.early_imports import import_in_background

    monkeypatch.delitem(sys.modules, "tabnanny", raising=False)  # imported by nothing else here
    thread = import_in_background(("no_such_module_for_cifarlab", "tabnanny"))
    thread.join(timeout=30)
    assert not thread.is_alive() and thread.daemon
    assert "tabnanny" in sys.modules
