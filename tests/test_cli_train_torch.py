"""`cifarlab train mlp|convnet`, `evaluate` and `predict` end to end on tiny synthetic data."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from cifarlab.cli.main import main

TORCH_FILES = {"config.json", "history.json", "history.csv", "metrics.json", "checkpoint.pt", "curves.png",
               "steps.npy", "train_accuracy.npy", "train_loss.npy", "test_accuracy.npy", "test_loss.npy"}
MLP = ["mlp", "--pipeline", "standardize", "--hidden", "64", "--steps", "30", "--batch-size", "20", "--eval-every", "10", "--lr", "3e-3",
       "--train-eval-size", "0", "--quiet"]
# train metrics on a sample of 40 images: the whole training set would triple each evaluation's time
CONVNET = ["convnet", "--steps", "6", "--batch-size", "8", "--eval-every", "3", "--lr", "1e-3",
           "--eval-batch-size", "64", "--train-eval-size", "40", "--quiet"]


def train(folder, out, arguments, *extra):
    return main(["train", arguments[0], "--data", str(folder), "--out", str(out), *arguments[1:], *extra])


@pytest.mark.parametrize("arguments", [MLP, CONVNET], ids=["mlp", "convnet"])
def test_torch_run_directory_matches_the_numpy_one_and_evaluates_exactly(learnable_folder, tmp_path, capsys,
                                                                          arguments):
    run = tmp_path / "run"
    assert train(learnable_folder, run, arguments) == 0
    assert TORCH_FILES <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    history = json.loads((run / "history.json").read_text())
    steps = int(arguments[arguments.index("--steps") + 1])
    every = int(arguments[arguments.index("--eval-every") + 1])
    # one evaluation every --eval-every steps, the same curves in JSON and .npy, the last as the final metrics
    assert history["step"] == list(range(every, steps + 1, every)) == np.load(run / "steps.npy").tolist()
    for name in ("test_accuracy", "test_loss", "train_accuracy", "train_loss"):
        np.testing.assert_array_equal(np.load(run / f"{name}.npy"), history[name])
        assert metrics[name] == history[name][-1]
    assert metrics["step"] == steps and json.loads((run / "config.json").read_text())["config"]["steps"] == steps
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_torch_mlp_learns_the_synthetic_set(learnable_folder, tmp_path):
    train(learnable_folder, tmp_path / "run", MLP)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.8


@pytest.mark.parametrize("norm, module", [("torch", "BatchNorm1d"), ("autograd", "BatchNormAutograd"),
                                          ("function", "BatchNormFunctional")])
def test_mlp_trains_with_each_batch_norm_form(learnable_folder, tmp_path, norm, module):
    from cifarlab.inference.reload import reload_learner

    assert train(learnable_folder, tmp_path / "run", MLP, "--batch-norm", norm, "--dropout", "0.1") == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.8
    learner = reload_learner(tmp_path / "run", "cpu")[3]
    assert [type(m).__name__ for m in learner.model.modules()].count(module) == 1  # one hidden layer, one norm


def test_killed_convnet_run_resumes_to_the_uninterrupted_result(learnable_folder, tmp_path, kill_after_evaluations):
    options = ("--augment", "--batch-norm", "function", "--steps", "9")
    train(learnable_folder, tmp_path / "whole", CONVNET, *options)
    arm, disarm = kill_after_evaluations
    arm(2)
    assert train(learnable_folder, tmp_path / "killed", CONVNET, *options) == 130
    disarm()
    assert main(["train", "convnet", "--resume", str(tmp_path / "killed"), "--quiet"]) == 0
    for name in ("test_loss.npy", "train_loss.npy", "test_accuracy.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "whole" / name), np.load(tmp_path / "killed" / name),
                                   rtol=1e-6)


def test_resume_with_the_wrong_model_is_refused(learnable_folder, tmp_path, capsys):
    train(learnable_folder, tmp_path / "run", MLP)
    assert main(["train", "convnet", "--resume", str(tmp_path / "run")]) == 2
    assert "is a mlp run" in capsys.readouterr().err


def test_nan_loss_keeps_the_last_good_checkpoint(learnable_folder, tmp_path, capsys, monkeypatch):
    from cifarlab.training.torch_learner import TorchLearner

    real_step, calls = TorchLearner.train_step, {"n": 0}

    def blows_up_at_step_15(self, x, y, lr):
        calls["n"] += 1
        loss = real_step(self, x, y, lr)
        return float("nan") if calls["n"] >= 15 else loss

    monkeypatch.setattr(TorchLearner, "train_step", blows_up_at_step_15)
    assert train(learnable_folder, tmp_path / "run", MLP) == 2
    err = capsys.readouterr().err
    assert "loss became nan at step 15" in err and "(step 10)" in err
    monkeypatch.setattr(TorchLearner, "train_step", real_step)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["step"] == [10]
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert f"{history['test_accuracy'][0]:.2%}" in capsys.readouterr().out


def reading_losses_every(steps: int, monkeypatch):
    """Make a CPU learner leave its losses unread for `steps` steps, as it does on a GPU."""
    from cifarlab.training.torch_learner import TorchLearner

    real_init = TorchLearner.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.unread_steps = steps

    monkeypatch.setattr(TorchLearner, "__init__", init)


def test_losses_read_in_groups_log_every_step_as_read_one_by_one(learnable_folder, tmp_path, monkeypatch):
    from cifarlab.rundir.logs import StepLog

    assert train(learnable_folder, tmp_path / "each", MLP) == 0
    reading_losses_every(7, monkeypatch)
    assert train(learnable_folder, tmp_path / "grouped", MLP) == 0
    each, grouped = StepLog.read(tmp_path / "each"), StepLog.read(tmp_path / "grouped")
    assert grouped.step == each.step == list(range(1, 31))
    assert grouped.loss == each.loss and grouped.lr == each.lr
    assert all(rate > 0 for rate in grouped.images_per_second)
    for name in ("history.json", "metrics.json"):
        before, after = (json.loads((tmp_path / run / name).read_text()) for run in ("each", "grouped"))
        for timing in ("seconds", "eval_seconds", "train_seconds"):
            before.pop(timing, None), after.pop(timing, None)
        assert before == after


def test_a_nan_loss_read_in_a_group_names_its_own_step(learnable_folder, tmp_path, capsys, monkeypatch):
    from cifarlab.training.torch_learner import TorchLearner

    real_step, calls = TorchLearner.train_step, {"n": 0}

    def blows_up_at_step_15(self, x, y, lr):
        calls["n"] += 1
        loss = real_step(self, x, y, lr)
        return loss * float("nan") if calls["n"] == 15 else loss

    monkeypatch.setattr(TorchLearner, "train_step", blows_up_at_step_15)
    reading_losses_every(4, monkeypatch)
    assert train(learnable_folder, tmp_path / "run", MLP) == 2
    err = capsys.readouterr().err
    assert "loss became nan at step 15" in err and "(step 10)" in err
    assert calls["n"] == 18  # steps 15-18 were queued before their losses were read
    assert json.loads((tmp_path / "run" / "history.json").read_text())["step"] == [10]


def test_cuda_request_without_cuda_is_a_clear_error(learnable_folder, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert train(learnable_folder, tmp_path / "run", MLP, "--device", "cuda") == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.fixture
def trained_mlp(learnable_folder, tmp_path):
    train(learnable_folder, tmp_path / "run", MLP)
    return tmp_path / "run"


def test_predict_names_the_right_class_for_training_images(trained_mlp, learnable_folder, capsys):
    image = learnable_folder / "train" / "horse" / "0003.png"
    assert main(["predict", str(trained_mlp), str(image)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split(": ", 1)[1].startswith("horse") and line.count("%") == 3


def test_predict_resizes_other_sizes_and_reads_jpeg(trained_mlp, learnable_folder, tmp_path, capsys):
    big = tmp_path / "big.jpg"
    Image.open(learnable_folder / "test" / "ship" / "0001.png").resize((96, 64)).save(big, quality=95)
    assert main(["predict", str(trained_mlp), str(big), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "resized from 96x64 to 32x32" in out and out.count("%") == 2


@pytest.mark.parametrize("make_bad, message", [
    (lambda p: p / "missing.png", "does not exist"),
    (lambda p: (p / "notes.png").write_text("not an image") and p / "notes.png", "not an image"),
    (lambda p: p, "is a directory: give image files"),
])
def test_predict_rejects_bad_files(trained_mlp, tmp_path, capsys, make_bad, message):
    assert main(["predict", str(trained_mlp), str(make_bad(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_finished_run_shows_where_it_goes_wrong_as_files_and_in_tensorboard(trained_mlp):
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    board = EventAccumulator(str(trained_mlp), size_guidance={IMAGES: 0})
    board.Reload()
    last_step = json.loads((trained_mlp / "metrics.json").read_text())["stopped_at"]
    for name in ("confusion_matrix", "misclassified"):
        image = board.Images(f"pictures/{name}")[-1]
        assert image.encoded_image_string == (trained_mlp / f"{name}.png").read_bytes() and image.step == last_step
    rows = list(csv.DictReader((trained_mlp / "per_class.csv").open()))
    assert len(rows) == 10 and sum(int(row["images"]) for row in rows) == 100  # the whole test set
    accuracy = sum(int(row["correct"]) for row in rows) / 100
    assert accuracy == pytest.approx(json.loads((trained_mlp / "metrics.json").read_text())["test_accuracy"])


def test_no_pictures_ends_without_them(learnable_folder, tmp_path):
    assert train(learnable_folder, tmp_path / "run", MLP, "--no-pictures") == 0
    assert (tmp_path / "run" / "curves.png").is_file() and not (tmp_path / "run" / "confusion_matrix.png").exists()


def test_evaluate_puts_its_pictures_into_the_runs_tensorboard_log(trained_mlp, capsys):
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    assert main(["evaluate", str(trained_mlp), "--misclassified", "4", "--show"]) in (0, 1)
    board = EventAccumulator(str(trained_mlp), size_guidance={IMAGES: 0})
    board.Reload()
    tags = set(board.Tags()["images"])
    assert {"pictures/confusion_matrix", "pictures/misclassified", "pictures/first_layer",
            "pictures/saliency"} <= tags
    image = board.Images("pictures/confusion_matrix")[-1]
    assert image.encoded_image_string == (trained_mlp / "confusion_matrix.png").read_bytes()
    assert image.step == json.loads((trained_mlp / "metrics.json").read_text())["stopped_at"]
