"""Any torch classifier behind the trainer's learner interface."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cifarlab.data.augment import flip_and_crop
from cifarlab.data.batches import chunks
from cifarlab.errors import CifarlabError
from cifarlab.train.rundir import atomic_write_bytes


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CifarlabError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu")
    return torch.device(name)


def build_torch_optimizer(name: str, params, lr: float, momentum: float, nesterov: bool, weight_decay: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    raise CifarlabError(f"unknown optimizer {name!r}")


class TorchLearner:
    weights_name = "checkpoint.pt"

    def __init__(self, model: torch.nn.Module, cfg, augment_padding: int | None = None,
                 channels_last: bool = False):
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = pick_device(cfg.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.optimizer = build_torch_optimizer(cfg.optimizer, self.model.parameters(), cfg.lr, cfg.momentum,
                                               cfg.nesterov, cfg.weight_decay)
        self.eval_batch_size = cfg.eval_batch_size
        self.augment_padding = augment_padding
        self.augment_generator = torch.Generator().manual_seed(cfg.seed)

    def _to_device(self, x: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    def train_step(self, x, y, lr):
        self.model.train()
        inputs, targets = self._to_device(x), torch.from_numpy(y).to(self.device)
        if self.augment_padding is not None:
            inputs = flip_and_crop(inputs, self.augment_padding, self.augment_generator)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(inputs), targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self.model(self._to_device(x[part])).float()
                          for part in chunks(len(x), self.eval_batch_size)])

    def evaluate(self, x, y):
        logits = self.logits(x)
        targets = torch.from_numpy(y).to(logits.device)
        loss = F.cross_entropy(logits, targets).item()
        accuracy = (logits.argmax(dim=1) == targets).float().mean().item()
        return accuracy, loss

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.logits(x), dim=1).cpu().numpy()

    def save(self, path: Path, loop_state: dict) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "augment_rng": self.augment_generator.get_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                 "loop": loop_state}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load(self, path: Path) -> dict:
        try:
            state = torch.load(path, map_location=self.device, weights_only=False)
        except (OSError, RuntimeError, EOFError) as exc:
            raise CifarlabError(f"cannot read checkpoint {path} ({exc})") from None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        self.augment_generator.set_state(state["augment_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        return state["loop"]
