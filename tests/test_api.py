"""cifarlab from Python: the notebook workflow of train, plot, metrics, predict, load."""

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
