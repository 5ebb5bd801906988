"""cifarlab from Python: the notebook workflow of train, plot, metrics, predict, load."""

from pathlib import Path

import numpy as np
import pytest

import cifarlab
from cifarlab.errors import CifarlabError


@pytest.fixture
def mlp_run(learnable_folder, tmp_path):
    return cifarlab.train("mlp", data=str(learnable_folder), out=tmp_path / "run", steps=30, batch_size=20,
                          eval_every=10, hidden=(32,), pipeline="standardize", lr=3e-3, progress=False)


def test_train_returns_a_run_with_its_config_metrics_and_curves(mlp_run):
    assert mlp_run.config.steps == 30 and mlp_run.config.hidden == (32,)
    assert mlp_run.metrics["step"] == 30 and mlp_run.metrics["test_accuracy"] > 0.8
    assert [row["step"] for row in mlp_run.history] == [10, 20, 30]
    assert mlp_run.history[-1]["test_accuracy"] == mlp_run.metrics["test_accuracy"]
    figure = mlp_run.plot()
    assert type(figure).__name__ == "Figure" and len(figure.axes) == 2


def test_a_loaded_run_predicts_arrays_and_files_as_evaluate_measures(mlp_run, learnable_folder):
    run = cifarlab.load(mlp_run.dir)
    data = cifarlab.load_data(str(learnable_folder))
    probabilities = run.predict(data.test_images)
    assert probabilities.shape == (len(data.test_labels), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((probabilities.argmax(axis=1) == data.test_labels).mean())
    assert accuracy == pytest.approx(run.evaluate(device="cpu")["test_accuracy"])
    files = [learnable_folder / "test" / "cat" / "0000.png", learnable_folder / "test" / "dog" / "0001.png"]
    np.testing.assert_allclose(run.predict(files), probabilities[[30, 51]], rtol=1e-5)  # test set: 10 a class
    matrix = run.confusion_matrix(device="cpu")
    assert matrix.sum() == len(data.test_labels) and np.trace(matrix) == round(accuracy * matrix.sum())


def test_api_mistakes_are_cifarlab_errors(tmp_path, learnable_folder):
    with pytest.raises(CifarlabError, match="unknown option 'learning_rate'"):
        cifarlab.train("mlp", data=str(learnable_folder), out=tmp_path / "r", learning_rate=0.1)
    with pytest.raises(CifarlabError, match="not a cifarlab run directory"):
        cifarlab.load(tmp_path)


@pytest.mark.parametrize("model, options, tiles", [
    ("numpy-mlp", {"hidden": (16,), "steps": 20, "batch_size": 20, "eval_every": 10}, (16, 32, 32, 3)),
    ("mlp", {"hidden": (24,), "steps": 20, "batch_size": 20, "eval_every": 10}, (24, 32, 32, 3)),
    ("fastnet", {"widths": (8, 8, 8), "steps": 4, "batch_size": 50, "eval_every": 0, "device": "cpu"}, (12, 2, 2, 3)),
])
def test_pictures_of_what_a_network_learned(learnable_folder, tmp_path, model, options, tiles):
    from cifarlab.inference.reload import reload_learner

    run = cifarlab.train(model, data=str(learnable_folder), out=tmp_path / "run", progress=False, **options)
    written = run.show(device="cpu")
    assert [path.name for path in written] == ["first_layer.png", *(["first_filters.png"] if model == "fastnet" else []),
                                               "saliency.png"]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)
    learner = reload_learner(run.dir, "cpu")[3]
    first, _ = learner.layer_pictures(np.zeros((1, 3, 32, 32), np.float32))["first_layer"]
    assert first.shape == tiles and np.abs(first).max() > 0


def test_fastnet_filters_seen_through_the_whitening_are_the_two_convolutions_composed():
    import torch
    import torch.nn.functional as F

    from cifarlab.torch_nn.fastnet import FastNet
    from cifarlab.training.fastnet.pictures import filters_through_whitening

    torch.manual_seed(0)
    net = FastNet(widths=(8, 8, 8)).double()
    net.init_whitening(torch.rand(64, 3, 32, 32, dtype=torch.float64))
    first = next(m for m in net.blocks.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        first.weight.normal_()  # not the identity start: every tap counts
    x = torch.rand(2, 3, 10, 10, dtype=torch.float64)
    two_steps = F.conv2d(F.conv2d(x, net.whiten.weight), first.weight)
    composed = torch.from_numpy(filters_through_whitening(net).transpose(0, 3, 1, 2).copy())
    torch.testing.assert_close(F.conv2d(x, composed), two_steps)


def test_preferred_patches_are_the_filters_weighted_by_the_patch_covariance():
    from cifarlab.training.fastnet.pictures import preferred_patches

    rng = np.random.default_rng(0)
    images = rng.standard_normal((400, 3, 8, 8))
    images[:, 1] = images[:, 0]  # green copies red: a filter on red alone is answered by red and green
    one_tap = np.zeros((1, 4, 4, 3))
    one_tap[0, 1, 2, 0] = 1.0  # row 1, column 2, red
    patch = preferred_patches(one_tap, images)[0]
    assert patch[1, 2, 0] == pytest.approx(1.0, abs=0.05) and patch[1, 2, 1] == pytest.approx(1.0, abs=0.05)
    patch[1, 2, :2] = 0.0
    assert np.abs(patch).max() < 0.05  # white noise elsewhere: nothing else in the patch


def test_numpy_saliency_is_the_input_gradient_of_the_true_logit(learnable_folder, tmp_path):
    """Against central differences on a few pixels (float64 weights and inputs)."""
    from cifarlab.inference.reload import reload_learner

    run = cifarlab.train("numpy-mlp", data=str(learnable_folder), out=tmp_path / "run", hidden=(8,), steps=10,
                         batch_size=20, eval_every=0, progress=False)
    learner = reload_learner(run.dir, "cpu")[3]
    x = np.random.default_rng(0).normal(size=(1, 3072)) * 50
    maps = learner.saliency(x, np.array([3]))
    learner.model.eval()
    for pixel in (0, 500, 1023):  # of the 32 x 32; inputs flattened from (32, 32, 3)
        grads = []
        for channel in range(3):
            index, step = pixel * 3 + channel, 1e-3
            plus, minus = x.copy(), x.copy()
            plus[0, index] += step
            minus[0, index] -= step
            grads.append((learner.model.forward(plus)[0, 3] - learner.model.forward(minus)[0, 3]) / (2 * step))
        assert maps.reshape(-1)[pixel] == pytest.approx(max(abs(g) for g in grads), rel=1e-3, abs=1e-9)


def test_runs_started_within_one_second_get_directories_of_their_own(tmp_path, monkeypatch):
    from cifarlab.rundir.files import default_run_dir

    monkeypatch.chdir(tmp_path)
    made = []
    for _ in range(3):  # far faster than a second apart
        made.append(default_run_dir("mlp"))
        made[-1].mkdir(parents=True)
    assert len(set(made)) == 3 and all(path.parent == Path("runs") for path in made)


def test_the_package_exports_its_error_and_no_stray_names():
    import subprocess
    import sys

    import cifarlab
    from cifarlab.errors import CifarlabError

    assert cifarlab.CifarlabError is CifarlabError
    # a fresh process: once a submodule is imported, Python adds it to the package's names
    names = subprocess.run([sys.executable, "-c", "import cifarlab; print(' '.join(dir(cifarlab)))"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert {name for name in names if not name.startswith("_")} == {"CifarlabError", "errors", "load", "load_data",
                                                                    "train"}  # errors: the module of the error
