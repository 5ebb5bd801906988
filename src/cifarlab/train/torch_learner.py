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
    """`params`: parameters, or groups (dicts) whose optional "wd_scale" multiplies the weight decay."""
    params = list(params)
    if params and isinstance(params[0], dict):
        params = [{**group, "weight_decay": weight_decay * group.get("wd_scale", 1.0)} for group in params]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    raise CifarlabError(f"unknown optimizer {name!r}")


def autocast_dtype(precision: str, device_type: str):
    """The autocast dtype for --precision on this device, or None for plain float32."""
    if precision == "auto":
        return torch.bfloat16 if device_type == "cuda" else None
    if precision == "fp16" and device_type != "cuda":
        raise CifarlabError("--precision fp16 needs CUDA (on CPU use fp32, or bf16 where the CPU supports it)")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class TorchLearner:
    """`model` is the plain module (evaluated, saved); `trained` is what the optimiser steps
    through: the same module, or its DistributedDataParallel wrapper under torchrun."""

    weights_name = "checkpoint.pt"

    def __init__(self, model: torch.nn.Module, cfg, augment_padding: int | None = None,
                 channels_last: bool = False, label_smoothing: float = 0.0, tta: int = 0,
                 param_groups: list[dict] | None = None, recipe=None):
        """`tta`: test-time augmentation level (0 none, 1 mirror, 2 mirror and shifts);
        `param_groups`: optimiser groups with an "lr_scale" each (default: one group);
        `recipe`: step hooks (see fast_recipe.FastRecipe)."""
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
        self.optimizer = build_torch_optimizer(cfg.optimizer, param_groups or self.model.parameters(), cfg.lr,
                                               cfg.momentum, cfg.nesterov, cfg.weight_decay)
        self.recipe, self.step = recipe, 0
        self.autocast_dtype = autocast_dtype(cfg.precision, self.device.type)
        if cfg.compile and self.device.type == "cuda" and self.autocast_dtype is not None:
            # measured (torch 2.11, H100): the compiled backward gives NaN gradients in fastnet's
            # first block under bf16 and fp16 autocast, from the first step; eager mode is fine
            raise CifarlabError("--compile with bf16/fp16 autocast gives NaN gradients on CUDA: add "
                                "--precision fp32, or leave out --compile (eager bf16 was faster here)")
        # fp16 gradients can underflow: scale the loss (bf16 has float32's exponent range, no need)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.forward = torch.compile(self.trained) if cfg.compile else self.trained
        self.eval_batch_size = cfg.eval_batch_size
        self.label_smoothing, self.tta = label_smoothing, tta
        self.augment_padding = augment_padding
        self.augment_generator = torch.Generator().manual_seed(cfg.seed)

    def _to_device(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    @property
    def is_main(self) -> bool:
        return self.group.is_main

    def stage(self, x: np.ndarray, y: np.ndarray):
        """The training arrays as the loop should index them. On a GPU they are copied there
        once, so that each batch is gathered on the device rather than copied from host memory
        at every step (which made a GPU step several times slower than its arithmetic)."""
        if self.device.type != "cuda":
            return x, y
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self, x, y, lr):
        """x, y: the global batch. Augmentation draws for all of it (the same on every rank),
        then this rank trains on its slice."""
        self.trained.train()
        inputs, targets = self._to_device(x), self._to_device(y)
        if hasattr(self.model, "init_whitening") and not self.model.whitened:
            self.model.init_whitening(inputs)  # from the first (whole, un-augmented) batch
        if self.augment_padding is not None:
            inputs = flip_and_crop(inputs, self.augment_padding, self.augment_generator)
            inputs = inputs.contiguous(memory_format=self.memory_format)  # the gather returns NCHW
        mine = self.group.shard(len(targets))
        for group in self.optimizer.param_groups:
            scale = self.recipe.lr_scale(group, self.step) if self.recipe else group.get("lr_scale", 1.0)
            group["lr"] = lr * scale
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss = F.cross_entropy(self.forward(inputs[mine]).float(), targets[mine],
                                   label_smoothing=self.label_smoothing)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.step += 1
        if self.recipe:
            self.recipe.after_step(self.model, self.step)
        return self.group.sum(loss.detach().double()).item() / self.group.world_size

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self._predict(self._to_device(x[part])).float()
                          for part in chunks(len(x), self.eval_batch_size)])

    def _autocast(self):
        return torch.autocast(self.device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None)

    def _predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits, averaged over test-time views: level 1 adds the mirror image; level 2 also
        the mirrored pair shifted one pixel up-left and down-right (weights 1/2, 1/4, 1/4)."""
        with self._autocast():
            logits = self._mirrored(inputs) if self.tta else self.model(inputs).float()
            if self.tta >= 2:
                padded = F.pad(inputs, (1, 1, 1, 1), mode="reflect")
                height, width = inputs.shape[-2:]
                shifted = [padded[..., :height, :width], padded[..., 2:, 2:]]
                logits = 0.5 * logits + 0.25 * sum(self._mirrored(view.contiguous(memory_format=self.memory_format))
                                                   for view in shifted)
            return logits

    def _mirrored(self, inputs: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.model(inputs).float() + self.model(inputs.flip(-1)).float())

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
                 "recipe": self.recipe.state_dict() if self.recipe else {},
                 "scaler": self.scaler.state_dict() if self.scaler else {}, "loop": loop_state}
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
        # RNG states are CPU byte tensors; map_location moved them to the device with the rest
        torch.set_rng_state(state["torch_rng"].cpu())
        self.augment_generator.set_state(state["augment_rng"].cpu())
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        if self.recipe:
            self.recipe.load_state_dict(state.get("recipe", {}))
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = state["loop"]["step"]
        return state["loop"]

    def close(self, finished: bool = True) -> None:
        """`finished`: the run ended normally on every rank, so the ranks can leave together."""
        if self.group.active:
            distributed.leave(wait_for_others=finished)
