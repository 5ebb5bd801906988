"""Run directories written by earlier versions still evaluate, predict and resume.

The runs are written here by the code of 67f94e1 (the version before the training core was
redesigned), taken from this checkout's git history, on a tiny synthetic set:
tests/old_versions/make_runs.py trains each model and copies it after its first checkpoint.
The tests are skipped, saying why, in a checkout without that history (a shallow clone).
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cifarlab.cli.main import main
from cifarlab.data.synthetic import make_synthetic, write_image_folder

OLD_COMMIT = "67f94e1abda470743416983835cfb52e66ac100e"
REPO = Path(__file__).resolve().parents[1]
MODELS = ["numpy-mlp", "mlp", "fastnet"]


@pytest.fixture(scope="module")
def old_runs(tmp_path_factory):
    """(the directory holding the old version's runs, the data they were trained on)."""
    root = tmp_path_factory.mktemp("old-version")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD_COMMIT, "src"], capture_output=True)
    if archive.returncode:
        pytest.skip(f"needs the code of {OLD_COMMIT[:7]} from git history, which this checkout lacks "
                    f"({archive.stderr.decode().strip()[:200]})")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as code:
        code.extractall(root / "code")
    data = write_image_folder(make_synthetic(train_per_class=5, test_per_class=2, seed=1), root / "data", ".png")
    env = {**os.environ, "PYTHONPATH": str(root / "code" / "src"), "CIFARLAB_HOME": str(root / "home")}
    made = subprocess.run([sys.executable, str(REPO / "tests" / "old_versions" / "make_runs.py"), str(root / "runs"),
                           str(data)], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    return root / "runs", data


def copy_of(old_runs, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(old_runs[0] / name, tmp_path / name))


def final_metrics(run: Path) -> dict:
    return {k: v for k, v in json.loads((run / "metrics.json").read_text()).items() if "seconds" not in k}


def test_the_runs_were_written_by_the_old_version(old_runs):
    record = json.loads((old_runs[0] / "mlp" / "config.json").read_text())
    assert record["code_version"].startswith("cifarlab 0.1.0") and "micro_batch_size" not in record["config"]


@pytest.mark.parametrize("model", MODELS)
def test_an_old_run_evaluates_to_its_saved_accuracy(model, old_runs, tmp_path, capsys):
    run = copy_of(old_runs, model, tmp_path)
    assert main(["evaluate", str(run), "--data", str(old_runs[1]), "--device", "cpu"]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


@pytest.mark.parametrize("model", MODELS)
def test_an_old_run_predicts(model, old_runs, tmp_path, capsys):
    run = copy_of(old_runs, model, tmp_path)
    image = old_runs[1] / "test" / "cat" / "0000.png"
    assert main(["predict", str(run), str(image), "--device", "cpu"]) == 0
    assert str(image) in capsys.readouterr().out


@pytest.mark.parametrize("model", MODELS)
def test_an_old_interrupted_run_resumes_to_the_old_versions_result(model, old_runs, tmp_path):
    """Every step after the checkpoint is computed by this version: the metrics it ends with are
    those the old version ended the same run with."""
    run = copy_of(old_runs, f"{model}-interrupted", tmp_path)
    assert main(["train", model, "--resume", str(run), "--data", str(old_runs[1]), "--quiet"]) == 0
    assert final_metrics(run) == final_metrics(old_runs[0] / model)
