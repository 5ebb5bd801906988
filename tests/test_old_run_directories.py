"""Run directories written by earlier versions still evaluate, predict and resume.

tests/fixtures/runs-67f94e1/ holds runs written by cifarlab at commit 67f94e1 (before the
training core was redesigned) on the tiny synthetic set below: each finished, and a copy of
each taken after its first checkpoint (step 4 of 8). made_by.py there is the script that
wrote them, kept as a record (it uses that version's internals).
"""

import json
import shutil
from pathlib import Path

import pytest

from cifarlab.cli.main import main
from cifarlab.data.synthetic import make_synthetic, write_image_folder

FIXTURES = Path(__file__).parent / "fixtures" / "runs-67f94e1"
MODELS = ["numpy-mlp", "mlp", "fastnet"]


@pytest.fixture
def fixture_data(tmp_path):
    """The data the fixtures were trained on (the synthetic set is a pure function of its seed)."""
    return write_image_folder(make_synthetic(train_per_class=5, test_per_class=2, seed=1), tmp_path / "data", ".png")


def copy_of(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def final_metrics(run: Path) -> dict:
    return {k: v for k, v in json.loads((run / "metrics.json").read_text()).items() if "seconds" not in k}


@pytest.mark.parametrize("model", MODELS)
def test_an_old_run_evaluates_to_its_saved_accuracy(model, fixture_data, tmp_path, capsys):
    run = copy_of(model, tmp_path)
    assert main(["evaluate", str(run), "--data", str(fixture_data), "--device", "cpu"]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


@pytest.mark.parametrize("model", MODELS)
def test_an_old_run_predicts(model, fixture_data, tmp_path, capsys):
    run = copy_of(model, tmp_path)
    image = fixture_data / "test" / "cat" / "0000.png"
    assert main(["predict", str(run), str(image), "--device", "cpu"]) == 0
    assert str(image) in capsys.readouterr().out


@pytest.mark.parametrize("model", MODELS)
def test_an_old_interrupted_run_resumes_to_the_old_versions_result(model, fixture_data, tmp_path):
    """Every step after the checkpoint is computed by this version: the metrics it ends with are
    those the old version ended the same run with."""
    run = copy_of(f"{model}-interrupted", tmp_path)
    assert main(["train", model, "--resume", str(run), "--data", str(fixture_data), "--quiet"]) == 0
    assert final_metrics(run) == final_metrics(FIXTURES / model)
