"""Any torch classifier behind the trainer's learner interface.

A learner is built from three things: the model, a `TorchRecipe` (how it trains and
evaluates: part of what the run is) and a `Runtime` (where: device, processes, precision).
The registry builds the first two from a model's config; the command builds the runtime.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cifarlab.data.augment import colour_jitter, flip_and_crop, mirror_half, random_crop
from cifarlab.data.batches import chunks
from cifarlab.data.transfer import DeviceRows
from cifarlab.errors import CifarlabError
from cifarlab.train import distributed
from cifarlab.train.configs import OptimizerSpec
from cifarlab.train.runtime import Runtime
from cifarlab.train.rundir import atomic_write_bytes


class StepHooks:
    """What a model's recipe may do around each training step; these defaults do nothing.
    Every hook is a function of the step, so that a resumed run equals an uninterrupted one."""

    def before_step(self, model: torch.nn.Module, inputs: torch.Tensor, step: int) -> None:
        """`inputs`: the whole un-augmented batch of 0-based `step`."""

    def lr_scale(self, group: dict, step: int) -> float:
        return group.get("lr_scale", 1.0)

    def after_step(self, model: torch.nn.Module, done: int) -> None:
        """`done`: the number of steps done so far."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass(frozen=True)
class TorchRecipe:
    """How a torch learner trains and evaluates."""

    optimizer: OptimizerSpec
    batch_size: int  # the global batch (under torchrun each process trains on its share)
    seed: int  # augmentation draws
    eval_batch_size: int = 1000
    augment_padding: int | None = None  # None: no augmentation; else flip and random crop with this padding
    flip: str = "random"  # or "alternate": see data.augment.mirror_half
    steps_per_epoch: int = 1  # for alternating flips
    small_crop: int = 0  # with augmentation: train on random small_crop x small_crop windows ...
    small_crop_steps: int = 0  # ... for this many first steps (cheaper steps early on)
    brightness: float = 0.0  # with augmentation: colour jitter (data.augment.colour_jitter)
    contrast: float = 0.0
    channels_last: bool = False
    label_smoothing: float = 0.0
    tta: int = 0  # test-time augmentation: 0 none, 1 mirror, 2 mirror and two 1-pixel shifts
    tta_fraction: float = 1.0  # the share of images (the least confident) that get the TTA views
    micro_batch_size: int = 0  # forward/backward in parts of this size, gradients added up (0: whole batch)
    param_groups: list[dict] | None = None  # optimiser groups with "lr_scale"/"wd_scale" (None: one group)
    hooks: StepHooks = field(default_factory=StepHooks)


def pick_device(name: str) -> str:
    """'auto', 'cpu' or 'cuda' -> the device type to use."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise CifarlabError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu")
    return name


def build_torch_optimizer(spec: OptimizerSpec, params):
    """`params`: parameters, or groups (dicts) whose optional "wd_scale" multiplies the weight decay."""
    params = list(params)
    if params and isinstance(params[0], dict):
        params = [{**group, "weight_decay": spec.weight_decay * group.get("wd_scale", 1.0)} for group in params]
    if spec.name == "muon":
        from cifarlab.train.muon import MuonWithSGD

        return MuonWithSGD(params, lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov,
                           weight_decay=spec.weight_decay, muon_momentum=spec.muon_momentum)
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov,
                               weight_decay=spec.weight_decay)
    if spec.name in ("adam", "adamw"):
        adam = torch.optim.Adam if spec.name == "adam" else torch.optim.AdamW
        return adam(params, lr=spec.lr, betas=(0.9, 0.999), weight_decay=spec.weight_decay)
    raise CifarlabError(f"unknown optimizer {spec.name!r}")


def least_confident(logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """Sorted row indices of the round(fraction x N) rows whose top softmax probability is
    lowest (ties: the earlier row first)."""
    confidence = torch.softmax(logits.float(), dim=1).amax(dim=1)
    count = round(fraction * len(logits))
    return torch.sort(torch.argsort(confidence, stable=True)[:count]).values


def autocast_dtype(precision: str, device_type: str):
    """The autocast dtype for --precision on this device, or None for plain float32."""
    if precision == "auto":
        return torch.bfloat16 if device_type == "cuda" else None
    if precision == "fp16" and device_type != "cuda":
        raise CifarlabError("--precision fp16 needs CUDA (on CPU use fp32, or bf16 where the CPU supports it)")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


UNREAD_STEPS_ON_GPU = 32


class TorchLearner:
    """`model` is the plain module (evaluated, saved); `trained` is what the optimiser steps
    through: the same module, or its DistributedDataParallel wrapper under torchrun."""

    weights_name = "checkpoint.pt"

    def __init__(self, model: torch.nn.Module, recipe: TorchRecipe, runtime: Runtime):
        self.recipe, self.step = recipe, 0
        self.device, self.group = self._place(runtime, recipe.batch_size)
        # A GPU runs ahead of Python until something reads a result back; reading each
        # step's loss makes Python wait for the GPU at every step (on an H200 the loop was
        # not measurably faster without those waits: its time goes to Python; RESULTS.md).
        self.unread_steps = UNREAD_STEPS_ON_GPU if self.device.type == "cuda" else 1
        self.memory_format = torch.channels_last if recipe.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.trained = self.model
        if runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_torch_optimizer(recipe.optimizer, recipe.param_groups or self.model.parameters())
        self.autocast_dtype = autocast_dtype(runtime.precision, self.device.type)
        if runtime.compile and self.device.type == "cuda" and self.autocast_dtype is not None:
            # measured (torch 2.11, H100): the compiled backward gives NaN gradients in fastnet's
            # first block under bf16 and fp16 autocast, from the first step; eager mode is fine
            raise CifarlabError("--compile with bf16/fp16 autocast gives NaN gradients on CUDA: add "
                                "--precision fp32, or leave out --compile (eager bf16 was faster here)")
        # fp16 gradients can underflow: scale the loss (bf16 has float32's exponent range, no need)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.forward = torch.compile(self.trained) if runtime.compile else self.trained
        self.augment_generator = torch.Generator().manual_seed(recipe.seed)

    @staticmethod
    def _place(runtime: Runtime, batch_size: int) -> tuple[torch.device, distributed.ProcessGroup]:
        device_type = pick_device(runtime.device)
        group = distributed.join(device_type == "cuda") if runtime.distributed else distributed.SINGLE
        if batch_size % group.world_size:
            raise CifarlabError(f"--batch-size {batch_size} must divide evenly over {group.world_size} processes")
        device = torch.device("cuda", group.local_rank) if device_type == "cuda" else torch.device("cpu")
        return device, group

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
        at every step (which made a GPU step several times slower than its arithmetic), and
        gathered by indices sent without waiting for the GPU (DeviceRows)."""
        images = torch.from_numpy(x).to(self.device)  # on the CPU: the array itself
        if self.recipe.augment_padding is not None and self.recipe.flip == "alternate":
            images = mirror_half(images, self.recipe.seed)  # the draws are the same on every device
        if self.device.type != "cuda":
            return images.numpy(), y
        return DeviceRows(images), DeviceRows(torch.from_numpy(y).to(self.device))

    def train_step(self, x, y, lr) -> torch.Tensor:
        """x, y: the global batch. Augmentation draws for all of it (the same on every rank),
        then this rank trains on its slice. Returns the mean loss as a 0-d tensor on the
        device, unread (float() reads it)."""
        self.trained.train()
        inputs, targets = self._to_device(x), self._to_device(y)
        hooks = self.recipe.hooks
        hooks.before_step(self.model, inputs, self.step)
        if self.recipe.augment_padding is not None:
            inputs = self._augment(inputs).contiguous(memory_format=self.memory_format)  # the gather returns NCHW
        mine = self.group.shard(len(targets))
        for group in self.optimizer.param_groups:
            group["lr"] = lr * hooks.lr_scale(group, self.step)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._accumulate_gradients(inputs[mine], targets[mine])
        self._step_optimizer()
        self.step += 1
        hooks.after_step(self.model, self.step)
        return self.group.sum(loss) / self.group.world_size

    def _augment(self, inputs: torch.Tensor) -> torch.Tensor:
        recipe = self.recipe
        size = recipe.small_crop if self.step < recipe.small_crop_steps else None
        if recipe.flip == "random":
            inputs = flip_and_crop(inputs, recipe.augment_padding, self.augment_generator, size)
        else:
            if (self.step // recipe.steps_per_epoch) % 2:  # alternating flips: staged half-mirrored, turned in odd epochs
                inputs = inputs.flip(-1)
            inputs = random_crop(inputs, recipe.augment_padding, self.augment_generator, size)
        return colour_jitter(inputs, recipe.brightness, recipe.contrast, self.augment_generator)

    def _accumulate_gradients(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The gradient of the batch's mean loss, in micro-batches if the recipe asks (each
        part's mean loss weighted by its share). Returns the mean loss."""
        size = self.recipe.micro_batch_size or len(targets)
        parts = list(chunks(len(targets), size))
        total = torch.zeros((), dtype=torch.float64, device=targets.device)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            # under DDP, gradients are exchanged once, after the last part
            sync = contextlib.nullcontext() if last or self.trained is self.model else self.trained.no_sync()
            with sync:
                with self._autocast():
                    loss = F.cross_entropy(self.forward(inputs[part]).float(), targets[part],
                                           label_smoothing=self.recipe.label_smoothing)
                share = (part.stop - part.start) / len(targets)
                (self.scaler.scale(loss * share) if self.scaler else loss * share).backward()
            total += loss.detach().double() * share
        return total

    def _step_optimizer(self) -> None:
        if self.scaler is None:
            self.optimizer.step()
            return
        self.scaler.step(self.optimizer)
        self.scaler.update()

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        """Logits of images x (N, C, H, W). With a TTA fraction below 1, every image first gets
        one plain view, and only the least confident share of them the TTA views (the extra
        views seldom change a confident prediction: benchmarks/RESULTS.md)."""
        self.model.eval()
        if not self.recipe.tta or self.recipe.tta_fraction >= 1:
            return self._logits_in_batches(x, self._predict)
        logits = self._logits_in_batches(x, self._plain)
        unsure = least_confident(logits, self.recipe.tta_fraction)
        if len(unsure):
            logits[unsure] = self._logits_in_batches(x[unsure.cpu().numpy()], self._predict)
        return logits

    def _logits_in_batches(self, x: np.ndarray, predict) -> torch.Tensor:
        return torch.cat([predict(self._to_device(x[part])).float()
                          for part in chunks(len(x), self.recipe.eval_batch_size)])

    def _plain(self, inputs: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self.model(inputs).float()

    def _autocast(self):
        return torch.autocast(self.device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None)

    def _predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits, averaged over test-time views: level 1 adds the mirror image; level 2 also
        the mirrored pair shifted one pixel up-left and down-right (weights 1/2, 1/4, 1/4)."""
        with self._autocast():
            logits = self._mirrored(inputs) if self.recipe.tta else self.model(inputs).float()
            if self.recipe.tta >= 2:
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
                 "recipe": self.recipe.hooks.state_dict(),
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
        self.recipe.hooks.load_state_dict(state.get("recipe", {}))
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = state["loop"]["step"]
        return state["loop"]

    def close(self, finished: bool = True) -> None:
        """`finished`: the run ended normally on every rank, so the ranks can leave together."""
        if self.group.active:
            distributed.leave(wait_for_others=finished)
