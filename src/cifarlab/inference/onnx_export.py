"""A trained torch model as an ONNX file, for use outside cifarlab (onnxruntime, other languages).

The file maps prepared images, float32 (N, 3, 32, 32) normalised by the run's own pipeline
(its statistics are in the file's metadata and in the run's config.json), to logits (N, classes).
fastnet is exported as one plain view: its test-time augmentation is cifarlab's evaluation
recipe, not part of the network. Needs the optional extra: pip install '.[export]'.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifarlab.errors import CifarlabError

EXTRA = "ONNX export needs onnx and onnxruntime: pip install '.[export]'"


@dataclass(frozen=True)
class OnnxCheck:
    """onnxruntime's logits against cifarlab's (float32) on the same prepared images."""

    images: int
    top1_agreement: float  # the share of images with the same predicted class
    max_logit_difference: float


def export_onnx(run_dir: Path, path: Path) -> tuple[object, dict]:
    """Write run_dir's model to `path` as ONNX; returns (the torch model in eval mode, its run record)."""
    import torch

    from cifarlab.inference.reload import reload_learner
    from cifarlab.rundir.files import atomic_write_bytes
    from cifarlab.training.registry import get_model

    try:
        import onnx  # noqa: F401 - checked here: torch's exporter and _with_metadata need it
    except ImportError:
        raise CifarlabError(EXTRA) from None
    model_name, _, record, learner, _ = reload_learner(run_dir, "cpu")
    if not get_model(model_name).takes_runtime:
        raise CifarlabError(f"{run_dir} is a {model_name} run: ONNX export is for the torch models (mlp, convnet, "
                            "fastnet)")
    model = learner.model.float().eval().to(memory_format=torch.contiguous_format)
    buffer = io.BytesIO()
    try:
        with torch.no_grad():
            torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), buffer, input_names=["images"],
                              output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                              dynamo=False)  # the TorchScript-based exporter: no onnxscript needed
    except Exception as exc:  # noqa: BLE001 - e.g. a custom autograd Function (--batch-norm function) has no ONNX form
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise CifarlabError(f"torch cannot export {run_dir}'s model to ONNX "
                            f"({type(exc).__name__}: {first_line})") from None
    atomic_write_bytes(path, _with_metadata(buffer.getvalue(), model_name, record))
    return model, record


def _with_metadata(payload: bytes, model_name: str, record: dict) -> bytes:
    import onnx

    proto = onnx.load_from_string(payload)
    for key, value in {"cifarlab_model": model_name, "classes": json.dumps(record["classes"]),
                       "normalization": json.dumps(record["normalization"])}.items():
        proto.metadata_props.add(key=key, value=value)
    return proto.SerializeToString()


def check_onnx(path: Path, model, inputs: np.ndarray, batch: int = 500) -> OnnxCheck:
    """Run the ONNX file with onnxruntime on `inputs` (prepared, (N, 3, 32, 32) float32) and
    compare with the torch model's float32 logits."""
    import torch

    try:
        import onnxruntime
    except ImportError:
        raise CifarlabError(EXTRA) from None
    onnx_model = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    agree, largest = 0, 0.0
    for start in range(0, len(inputs), batch):
        x = np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32)
        theirs = onnx_model.run(["logits"], {"images": x})[0]
        with torch.no_grad():
            ours = model(torch.from_numpy(x)).float().numpy()
        agree += int((theirs.argmax(axis=1) == ours.argmax(axis=1)).sum())
        largest = max(largest, float(np.abs(theirs - ours).max()))
    return OnnxCheck(len(inputs), agree / len(inputs), largest)
