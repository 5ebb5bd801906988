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
from cifarlab.train import distributed
from cifarlab.train.rundir import atomic_write_bytes


def pick_device(name: str) -> str:
    """'auto', 'cpu' or 'cuda' -> the device type to use."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise CifarlabError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu")
    return name


def build_torch_optimizer(name: str, params, lr: float, momentum: float, nesterov: bool, weight_decay: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    raise CifarlabError(f"unknown optimizer {name!r}")


class TorchLearner:
    """`model` is the plain module (evaluated, saved); `trained` is what the optimiser steps
    through: the same module, or its DistributedDataParallel wrapper under torchrun."""

    weights_name = "checkpoint.pt"

    def __init__(self, model: torch.nn.Module, cfg, augment_padding: int | None = None,
                 channels_last: bool = False, label_smoothing: float = 0.0, tta: bool = False):
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device_type = pick_device(cfg.device)
        self.group = distributed.join(device_type == "cuda") if cfg.distributed else distributed.SINGLE
        if cfg.batch_size % self.group.world_size:
            raise CifarlabError(f"--batch-size {cfg.batch_size} must divide evenly over {self.group.world_size} "
                                "processes")
        self.device = torch.device("cuda", self.group.local_rank) if device_type == "cuda" else torch.device("cpu")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.trained = self.model
        if cfg.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_torch_optimizer(cfg.optimizer, self.model.parameters(), cfg.lr, cfg.momentum,
                                               cfg.nesterov, cfg.weight_decay)
        self.eval_batch_size = cfg.eval_batch_size
        self.label_smoothing, self.tta = label_smoothing, tta
        self.augment_padding = augment_padding
        self.augment_generator = torch.Generator().manual_seed(cfg.seed)

    def _to_device(self, x: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    @property
    def is_main(self) -> bool:
        return self.group.is_main

    def train_step(self, x, y, lr):
        """x, y: the global batch. Augmentation draws for all of it (the same on every rank),
        then this rank trains on its slice."""
        self.trained.train()
        inputs, targets = self._to_device(x), torch.from_numpy(y).to(self.device)
        if hasattr(self.model, "init_whitening") and not self.model.whitened:
            self.model.init_whitening(inputs)  # from the first (whole, un-augmented) batch
        if self.augment_padding is not None:
            inputs = flip_and_crop(inputs, self.augment_padding, self.augment_generator)
        mine = self.group.shard(len(targets))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.trained(inputs[mine]), targets[mine], label_smoothing=self.label_smoothing)
        loss.backward()
        self.optimizer.step()
        return self.group.sum(loss.detach().double()).item() / self.group.world_size

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self._predict(self._to_device(x[part])).float()
                          for part in chunks(len(x), self.eval_batch_size)])

    def _predict(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.tta:
            return self.model(inputs)
        return 0.5 * (self.model(inputs) + self.model(inputs.flip(-1)))  # test-time augmentation: mirror

    def evaluate(self, x, y):
        """Accuracy and mean loss over (x, y); under torchrun each rank takes a shard and
        the sums are added up."""
        mine = self.group.shard(len(y))
        logits = self.logits(x[mine])
        targets = torch.from_numpy(y[mine]).to(logits.device)
        totals = torch.stack([F.cross_entropy(logits, targets, reduction="sum").double(),
                              (logits.argmax(dim=1) == targets).sum().double()])
        loss_sum, correct = self.group.sum(totals).tolist()
        return correct / len(y), loss_sum / len(y)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.logits(x), dim=1).cpu().numpy()

    def save(self, path: Path, loop_state: dict) -> None:
        if not self.is_main:
            return
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "augment_rng": self.augment_generator.get_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                 "loop": loop_state}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load(self, path: Path) -> dict:
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)  # tensors and plain values only
        except (OSError, RuntimeError, EOFError) as exc:
            raise CifarlabError(f"cannot read checkpoint {path} ({exc})") from None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        self.augment_generator.set_state(state["augment_rng"])
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        return state["loop"]

    def close(self) -> None:
        if self.group.active:
            distributed.leave()
