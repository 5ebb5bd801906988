"""`cifarlab export RUN --onnx FILE`: the torch models as ONNX, the same predictions in onnxruntime."""

import json
import sys

import numpy as np
import pytest

from cifarlab.cli.main import main

pytest.importorskip("onnxruntime", reason="the export extra is not installed (pip install '.[export]')")

RUNS = {
    "mlp": ["mlp", "--hidden", "32", "--steps", "20", "--batch-size", "20", "--eval-every", "0", "--batch-norm",
            "torch", "--quiet", "--no-pictures"],
    "convnet": ["convnet", "--steps", "4", "--batch-size", "8", "--eval-every", "0", "--train-eval-size", "50",
                "--quiet", "--no-pictures"],
    "fastnet": ["fastnet", "--widths", "8,16,16", "--steps", "4", "--batch-size", "50", "--eval-every", "0",
                "--device", "cpu", "--quiet", "--no-pictures"],
}


@pytest.mark.parametrize("model", list(RUNS))
def test_an_onnx_model_predicts_as_cifarlab_does(model, learnable_folder, tmp_path, capsys):
    import onnx
    import onnxruntime

    run = tmp_path / "run"
    assert main(["train", RUNS[model][0], "--data", str(learnable_folder), "--out", str(run), *RUNS[model][1:]]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--onnx", str(tmp_path / "model.onnx")]) == 0  # exit 1 below 99.9 % or 1e-3
    out = capsys.readouterr().out
    assert "top-1 agrees on 100.00%" in out
    # the file stands alone: its metadata says how to prepare the inputs
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props}
    record = json.loads((run / "config.json").read_text())
    assert json.loads(metadata["normalization"]) == record["normalization"] and metadata["cifarlab_model"] == model
    onnx_model = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = onnx_model.run(["logits"], {"images": np.zeros((3, 3, 32, 32), np.float32)})[0]
    assert logits.shape == (3, 10)


def test_the_numpy_engine_and_a_missing_extra_are_one_line_errors(learnable_folder, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["train", "numpy-mlp", "--data", str(learnable_folder), "--out", str(run), "--hidden", "8",
                 "--steps", "4", "--batch-size", "20", "--eval-every", "0", "--quiet", "--no-pictures"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "ONNX export is for the torch models" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)  # as where the extra is not installed
    assert main(["export", str(run), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "pip install '.[export]'" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()
