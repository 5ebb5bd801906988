"""Any torch classifier behind the trainer's learner interface.

A learner is built from the model, the model's config (what the run is: it reads the fields
under their option names) and a `Runtime` (where it runs: device, processes, precision). It
does what every torch model needs: placing, DDP, the optimiser, autocast, micro-batches,
evaluation and checkpoints. A model with a recipe of its own (fastnet) subclasses it and
overrides the steps marked "a recipe may override".
"""

from __future__ import annotations

import contextlib
import gc
import io
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cifarlab.data.augment import flip_and_crop
from cifarlab.data.batches import chunks
from cifarlab.data.transfer import DeviceRows
from cifarlab.errors import CifarlabError
from cifarlab.rundir.files import WEIGHTS, atomic_write_bytes
from cifarlab.training import distributed
from cifarlab.training.optimizers import ParamGroup, build_optimizer
from cifarlab.training.runtime import Runtime, pick_device, resolved_precision


def autocast_dtype(precision: str, device_type: str):
    """The autocast dtype for --precision on this device, or None for plain float32."""
    precision = resolved_precision(precision, device_type)
    if precision == "fp16" and device_type != "cuda":
        raise CifarlabError("--precision fp16 needs CUDA (on CPU use fp32, or bf16 where the CPU supports it)")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def check_compile(runtime: Runtime, device_type: str, dtype) -> None:
    if runtime.compile and device_type == "cuda" and dtype is not None:
        # measured (torch 2.11, H100): the compiled backward gives NaN gradients in fastnet's
        # first block under bf16 and fp16 autocast, from the first step; eager mode is fine
        raise CifarlabError("--compile with bf16/fp16 autocast gives NaN gradients on CUDA: add "
                            "--precision fp32, or leave out --compile (eager bf16 was faster here)")


# A GPU runs ahead of Python until something reads a result back; reading each step's loss
# makes Python wait for the GPU at every step (on an H200 the loop was not measurably faster
# without those waits: its time goes to Python; benchmarks/RESULTS.md).
UNREAD_STEPS_ON_GPU = 32


class TorchLearner:
    """`model` is the plain module (evaluated, saved); `trained` is what the optimiser steps
    through: the same module, or its DistributedDataParallel wrapper under torchrun."""

    weights_name = WEIGHTS["torch"]

    def __init__(self, model: torch.nn.Module, cfg, runtime: Runtime, channels_last: bool = False):
        self.cfg, self.step = cfg, 0
        # the logits of the arrays evaluated at step `evaluated_step`, by array: the pictures at a
        # run's end reuse the final evaluation's instead of a second pass over the test set
        self.evaluated: dict[int, tuple[np.ndarray, torch.Tensor]] = {}
        self.evaluated_step = 0
        self.eval_batch_size = cfg.eval_batch_size  # 0: timed before it is first needed (settle_eval_batch)
        self.device, self.group = self._place(runtime, cfg.batch_size)
        self.unread_steps = UNREAD_STEPS_ON_GPU if self.device.type == "cuda" else 1
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.trained = self.model
        if runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained = DistributedDataParallel(self.model, device_ids=ids)
        self.autocast_dtype = autocast_dtype(runtime.precision, self.device.type)
        self.param_groups = self.build_param_groups()
        self.optimizer = self.build_optimizer(self.param_groups)
        check_compile(runtime, self.device.type, self.autocast_dtype)
        # fp16 gradients can underflow: scale the loss (bf16 has float32's exponent range, no need)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.forward = torch.compile(self.trained) if runtime.compile else self.trained
        self.augment_generator = torch.Generator().manual_seed(cfg.seed)

    @staticmethod
    def _place(runtime: Runtime, batch_size: int) -> tuple[torch.device, distributed.ProcessGroup]:
        device_type = pick_device(runtime.device)
        group = distributed.join(device_type == "cuda") if runtime.distributed else distributed.SINGLE
        if batch_size % group.world_size:
            raise CifarlabError(f"--batch-size {batch_size} must divide evenly over {group.world_size} processes")
        device = torch.device("cuda", group.local_rank) if device_type == "cuda" else torch.device("cpu")
        return device, group

    @property
    def is_main(self) -> bool:
        return self.group.is_main

    def to_device(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    # --- a recipe may override these ---------------------------------------------------
    # (the two builders run inside __init__, once the model, cfg, device and autocast_dtype are
    # set: they may read those, and nothing a subclass sets after calling __init__)

    def build_param_groups(self) -> list[ParamGroup]:
        return [ParamGroup(list(self.model.parameters()))]

    def build_optimizer(self, groups: list[ParamGroup]) -> torch.optim.Optimizer:
        return build_optimizer(self.cfg, groups)

    def stage(self, x: np.ndarray, y: np.ndarray):
        """The training arrays as the loop should index them. On a GPU they are copied there
        once, so that each batch is gathered on the device rather than copied from host memory
        at every step (which made a GPU step several times slower than its arithmetic), and
        gathered by indices sent without waiting for the GPU (DeviceRows)."""
        images = torch.from_numpy(x).to(self.device)  # on the CPU: the array itself
        if self.device.type != "cuda":
            return images.numpy(), y
        return DeviceRows(images), DeviceRows(torch.from_numpy(y).to(self.device))

    def choose(self, batch: np.ndarray) -> np.ndarray:
        """The images of step `self.step`'s scheduled batch that it trains on (all, unless a recipe leaves some out)."""
        return batch

    def before_step(self, inputs: torch.Tensor) -> None:
        """`inputs`: the whole un-augmented batch of step `self.step` (0-based)."""

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """--augment: a random flip and a random crop of --crop-padding (reflect) per image."""
        return flip_and_crop(inputs, self.cfg.crop_padding, self.augment_generator)

    def lr_scale(self, group: ParamGroup) -> float:
        """The multiplier of the scheduled learning rate for `group` at step `self.step`."""
        return group.lr_scale

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets)

    def after_step(self) -> None:
        """Called with `self.step` already counting the step just taken."""

    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        """Logits (N, classes) of images x (N, C, H, W), in batches of --eval-batch-size."""
        self.model.eval()
        return self.logits_in_batches(x, self.plain_logits)

    def recipe_state(self) -> dict:
        """What a recipe keeps between steps beyond the weights, for the checkpoint."""
        return {}

    def load_recipe_state(self, state: dict) -> None:
        pass

    # --- training ----------------------------------------------------------------------

    def train_step(self, x, y, lr: float) -> torch.Tensor:
        """x, y: the global batch. Augmentation draws for all of it (the same on every rank),
        then this rank trains on its slice. Returns the mean loss as a 0-d tensor on the
        device, unread (float() reads it)."""
        self.trained.train()
        inputs, targets = self.to_device(x), self.to_device(y)
        self.before_step(inputs)
        if self.cfg.augment:
            inputs = self.augment(inputs).contiguous(memory_format=self.memory_format)  # the gather returns NCHW
        mine = self.group.shard(len(targets))
        for group, torch_group in zip(self.param_groups, self.optimizer.param_groups):
            torch_group["lr"] = lr * self.lr_scale(group)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._accumulate_gradients(inputs[mine], targets[mine])
        self._step_optimizer()
        self.step += 1
        self.after_step()
        return self.group.sum(loss) / self.group.world_size

    def _accumulate_gradients(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The gradient of the batch's mean loss, in micro-batches of --micro-batch-size (each
        part's mean loss weighted by its share). Returns the mean loss."""
        parts = list(chunks(len(targets), self.cfg.micro_batch_size or len(targets)))
        total = torch.zeros((), dtype=torch.float64, device=targets.device)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            # under DDP, gradients are exchanged once, after the last part
            sync = contextlib.nullcontext() if last or self.trained is self.model else self.trained.no_sync()
            with sync:
                with self.autocast():
                    loss = self.loss(self.forward(inputs[part]).float(), targets[part])
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

    # --- evaluation --------------------------------------------------------------------

    def autocast(self):
        return torch.autocast(self.device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None)

    def plain_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.model(inputs).float()

    def logits_in_batches(self, x: np.ndarray, predict) -> torch.Tensor:
        self.settle_eval_batch(x)
        return torch.cat([predict(self.to_device(x[part])).float() for part in chunks(len(x), self.eval_batch_size)])

    def settle_eval_batch(self, x: np.ndarray):
        """With --eval-batch-size 0: the fastest size on this machine, timed on images `x` once
        and remembered in the cache directory (training/batch_timing.py). Returns the choice, or None
        when the size was given."""
        if self.eval_batch_size:
            return None
        from cifarlab.data.store import cifarlab_home
        from cifarlab.training.batch_timing import choose_eval_batch

        choice = choose_eval_batch(self, x, cifarlab_home())
        self.eval_batch_size = choice.size
        return choice

    def evaluate(self, x, y):
        """Accuracy and mean loss over (x, y); under torchrun each rank takes a shard and
        the sums are added up."""
        mine = self.group.shard(len(y))
        logits = self.logits(x[mine])
        if self.group.world_size == 1:
            self.remember_logits(x, logits)
        targets = torch.from_numpy(y[mine]).to(logits.device)
        totals = torch.stack([F.cross_entropy(logits, targets, reduction="sum").double(),
                              (logits.argmax(dim=1) == targets).sum().double()])
        loss_sum, correct = self.group.sum(totals).tolist()
        return correct / len(y), loss_sum / len(y)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.logits_of(x), dim=1).cpu().numpy()

    def remember_logits(self, x: np.ndarray, logits: torch.Tensor) -> None:
        """Keep the logits of images `x` for as long as the weights stay those of this step."""
        if self.evaluated_step != self.step:
            self.evaluated, self.evaluated_step = {}, self.step
        self.evaluated[id(x)] = (x, logits)  # x kept too, so that its id cannot pass to another array

    def logits_of(self, x: np.ndarray) -> torch.Tensor:
        """The logits of images `x`: remembered when this very array was evaluated at this step."""
        kept = self.evaluated.get(id(x))
        if kept is not None and kept[0] is x and self.evaluated_step == self.step:
            return kept[1]
        return self.logits(x)

    # --- what the network learned (report/pictures.py draws it; a recipe may override) -----

    def layer_pictures(self, test_inputs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        """{picture: (tiles (N, h, w, 3), what they are)}: the first layer's weights as images, an
        MLP's as 32x32 colour templates, a ConvNet's filters as small colour patches."""
        first = next(m for m in self.model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
        weights = first.weight.detach().float().cpu().numpy()
        if weights.ndim == 2:  # an MLP: inputs flattened from (3, 32, 32)
            return {"first_layer": (weights.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1),
                                    "first-layer weights as 32x32 colour templates")}
        size = weights.shape[-1]
        return {"first_layer": (weights.transpose(0, 2, 3, 1), f"first convolution's {size}x{size} filters")}

    def saliency(self, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """|d logit(label) / d input| of each image, its largest channel: (N, 32, 32)."""
        self.model.eval()
        x = torch.from_numpy(np.ascontiguousarray(inputs)).to(self.device).requires_grad_(True)
        logits = self.model(x).float()
        logits[torch.arange(len(labels)), torch.from_numpy(labels).to(logits.device)].sum().backward()
        return x.grad.abs().amax(dim=1).cpu().numpy()

    # --- checkpoints -------------------------------------------------------------------

    def save(self, path: Path, loop_state: dict) -> None:
        if not self.is_main:
            return
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "torch_rng": torch.get_rng_state(), "augment_rng": self.augment_generator.get_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
                 "recipe": self.recipe_state(),
                 "scaler": self.scaler.state_dict() if self.scaler else {}, "loop": loop_state}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load(self, path: Path) -> dict:
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)  # tensors and plain values only
            self.evaluated = {}  # other weights: nothing evaluated before holds
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (OSError, RuntimeError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            first_line = str(exc).strip().split("\n")[0]
            raise CifarlabError(f"cannot read checkpoint {path} ({type(exc).__name__}: {first_line})") from None
        # RNG states are CPU byte tensors; map_location moved them to the device with the rest
        torch.set_rng_state(state["torch_rng"].cpu())
        self.augment_generator.set_state(state["augment_rng"].cpu())
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        self.load_recipe_state(state.get("recipe", {}))
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = state["loop"]["step"]
        return state["loop"]

    def any_rank(self, flag: bool) -> bool:
        """`flag` on any rank; under torchrun every rank asks at every step, so they agree."""
        if not self.group.active:
            return flag
        return bool(self.group.sum(torch.tensor([float(flag)], device=self.device)).item())

    def close(self, finished: bool = True) -> None:
        """`finished`: the run ended normally on every rank, so the ranks can leave together."""
        if self.group.active:
            # DDP's reducer goes first, while the group has another owner. Were the reducer its last
            # owner, tearing the gloo group down would wait for a worker thread that waits for the
            # GIL the reducer holds: the 2-process test hung at exit in 2 of 10 runs. The collection
            # frees the wrapper also where a reference cycle holds it (a fraction of a second, once a run).
            self.trained = self.forward = self.model
            gc.collect()
            distributed.leave(wait_for_others=finished)
