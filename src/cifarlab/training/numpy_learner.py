"""The NumPy MLP behind the trainer's learner interface."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from cifarlab.data.batches import chunks
from cifarlab.errors import CifarlabError
from cifarlab.numpy_nn.dropout import Dropout
from cifarlab.numpy_nn.losses import SoftmaxCrossEntropy, log_softmax
from cifarlab.numpy_nn.optim import build_optimizer
from cifarlab.numpy_nn.sequential import Sequential, build_mlp
from cifarlab.rundir.files import WEIGHTS, atomic_write_bytes
from cifarlab.training.configs import NumpyMLPConfig

EVAL_CHUNK = 5000


def build_numpy_mlp(cfg: NumpyMLPConfig, n_in: int = 3072, n_out: int = 10, input_grad: bool = False) -> Sequential:
    return build_mlp(n_in, cfg.hidden, n_out, seed=cfg.seed, activation=cfg.activation, neg_slope=cfg.neg_slope,
                     batch_norm=cfg.batch_norm, dropout=cfg.dropout, init=cfg.init, input_grad=input_grad)


def predict_logits(model: Sequential, x: np.ndarray) -> np.ndarray:
    """Eval-mode logits (N, C) in chunks, so memory stays bounded on the full test set."""
    model.eval()
    try:
        return np.concatenate([model.forward(x[part]) for part in chunks(len(x), EVAL_CHUNK)])
    finally:
        model.train()


class NumpyLearner:
    weights_name = WEIGHTS["numpy"]
    unread_steps = 1  # its losses are plain floats
    is_main = True  # one process

    def __init__(self, cfg: NumpyMLPConfig, n_out: int = 10):
        self.cfg, self.classes = cfg, n_out
        self.model = build_numpy_mlp(cfg, n_out=n_out)
        self.optimizer = build_optimizer(cfg.optimizer, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay)
        self.loss = SoftmaxCrossEntropy()
        self.params = self.model.parameters()  # the arrays themselves: updated in place

    def stage(self, x: np.ndarray, y: np.ndarray):
        return x, y  # batches are cut from the arrays themselves

    def close(self, finished: bool = True) -> None:
        """Nothing to release: one process, no device."""

    def any_rank(self, flag: bool) -> bool:
        return flag  # one process

    def choose(self, batch: np.ndarray) -> np.ndarray:
        return batch  # every scheduled image

    def train_step(self, x, y, lr):
        # a diverging run overflows here; the loop's NaN guard reports it in one line, so
        # NumPy's own warnings would only repeat it, less clearly
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = self.model.forward(x)
            loss = self.loss.forward(logits, y)
            self.model.backward(self.loss.backward())
            self.optimizer.lr = lr
            self.optimizer.step(self.params, self.model.gradients())
        return loss

    def evaluate(self, x, y):
        log_probs = log_softmax(predict_logits(self.model, x))
        accuracy = float(np.mean(log_probs.argmax(axis=1) == y))
        loss = float(-log_probs[np.arange(len(y)), y].mean())
        return accuracy, loss

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.exp(log_softmax(predict_logits(self.model, x)))

    # --- what the network learned (report/pictures.py draws it) --------------------------

    def layer_pictures(self, test_inputs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        """{picture: (tiles (N, h, w, 3), what they are)}: each hidden unit's 3072 first-layer
        weights as a 32x32 colour template, the image that excites the unit most."""
        weights = self.model.parameters()["0.weight"]  # (units, 3072), inputs flattened from (32, 32, 3)
        return {"first_layer": (weights.reshape(-1, 32, 32, 3),
                                "first-layer weights of each hidden unit, as 32x32 colour templates")}

    def saliency(self, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """|d logit(label) / d input| of each image, its largest channel: (N, 32, 32)."""
        network = build_numpy_mlp(self.cfg, n_out=self.classes, input_grad=True)  # the same net, with dL/dx
        network.load({**self.model.parameters(), **self.model.buffers()})
        network.eval()
        logits = network.forward(inputs)
        picked = np.zeros_like(logits)
        picked[np.arange(len(labels)), labels] = 1.0
        return np.abs(network.backward(picked)).reshape(-1, 32, 32, 3).max(axis=-1)

    def _dropouts(self) -> list[Dropout]:
        return [m for m in self.model.modules if isinstance(m, Dropout)]

    def save(self, path: Path, loop_state: dict) -> None:
        arrays = {f"model/{k}": v for k, v in {**self.model.parameters(), **self.model.buffers()}.items()}
        arrays.update({f"optim/{k}": v for k, v in self.optimizer.state().items()})
        rng_states = [d.rng.bit_generator.state for d in self._dropouts()]
        arrays["meta"] = np.asarray(json.dumps({"loop": loop_state, "rng": rng_states}))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())

    def load(self, path: Path) -> dict:
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = {k: saved[k] for k in saved.files}
            self.model.load({k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")})
            self.optimizer.load_state({k.removeprefix("optim/"): v for k, v in arrays.items()
                                       if k.startswith("optim/")})
            meta = json.loads(str(arrays["meta"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise CifarlabError(f"cannot read weights {path} ({type(exc).__name__}: {exc})") from None
        for dropout, state in zip(self._dropouts(), meta["rng"]):
            dropout.rng.bit_generator.state = state
        return meta["loop"]
