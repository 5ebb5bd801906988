"""The fast ConvNet's training recipe, in the order a run meets it.

FastNetLearner is the generic TorchLearner with fastnet's steps filled in; every field of
FastNetConfig is read here under its option name. Each trick says what it buys. Everything
that depends on the step is a function of the step (or saved in the checkpoint), so a resumed
run ends exactly as an uninterrupted one.

    1. staging        alternating flips start from a seeded half of the images mirrored;
                      later batches may leave their easiest images out
    2. optimiser      typed parameter groups: fast batch-norm shifts, the whitening bias, Muon
    3. before a step  the whitening layer from the first batch; the whitening bias frozen later
    4. augmentation   flips, translations, small windows early on, colour jitter
    5. loss           label smoothing
    6. after a step   lookahead weight averaging
    7. evaluation     test-time augmentation, for the least confident share of images
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cifarlab.data.augment import colour_jitter, flip_and_crop, mirror_half, random_crop
from cifarlab.errors import CifarlabError
from cifarlab.training.configs import steps_per_epoch
from cifarlab.training.fastnet.config import FastNetConfig
from cifarlab.training.fastnet.lookahead import Lookahead
from cifarlab.training.fastnet.pictures import filters_through_whitening, preferred_patches, whitening_patches
from cifarlab.training.fastnet.selection import LastLosses
from cifarlab.training.optimizers import ParamGroup
from cifarlab.training.runtime import Runtime
from cifarlab.training.torch_learner import TorchLearner


class FastNetLearner(TorchLearner):
    """The TorchLearner with fastnet's steps filled in. `epoch_steps` is the steps of one pass
    over the training set; `whitening_bias`, the parameter group that step 3 freezes."""

    def __init__(self, model: nn.Module, cfg: FastNetConfig, runtime: Runtime, train_size: int):
        super().__init__(model, cfg, runtime, channels_last=cfg.channels_last)
        self.epoch_steps = steps_per_epoch(cfg, train_size)
        self.distributed = runtime.distributed
        self.lookahead = None
        if cfg.lookahead_epochs >= 0:
            self.lookahead = Lookahead(round(cfg.lookahead_epochs * self.epoch_steps), cfg.steps)
        self.last_losses = LastLosses(train_size) if cfg.skip_easiest else None
        if self.last_losses is not None and self.distributed:
            raise CifarlabError("--skip-easiest trains in one process only (each rank would see its own losses)")
        self.chosen, self.losses_of_step = None, []

    # 1. staging ---------------------------------------------------------------------------
    def stage(self, x: np.ndarray, y: np.ndarray):
        if self.cfg.augment and self.cfg.flip == "alternate":
            # alternating flips: a seeded half of the images is staged mirrored, and every odd
            # epoch mirrors the whole batch (step 4), so each image is seen both ways in two
            # epochs rather than by chance
            x = mirror_half(torch.from_numpy(x), self.cfg.seed).numpy()
        return super().stage(x, y)

    def choose(self, batch: np.ndarray) -> np.ndarray:
        """--skip-easiest: from --skip-from-epoch on, the batch less its easiest share (selection.py)."""
        self.chosen = batch
        if self.last_losses is not None and self.step >= round(self.cfg.skip_from_epoch * self.epoch_steps):
            self.chosen = self.last_losses.choose(batch, keep_share=1 - self.cfg.skip_easiest)
        return self.chosen

    # 2. optimiser -------------------------------------------------------------------------
    def build_param_groups(self) -> list[ParamGroup]:
        """Batch-norm shifts learn --bias-lr-scale times faster than the rest, their weight decay
        divided by as much (the same decay per step); the whitening bias has a group of its own
        so that step 3 can freeze it. With Muon the conv filters form a group of their own,
        at --muon-lr, without weight decay (Muon keeps each filter bank's norm instead)."""
        model, cfg = self.model, self.cfg
        shifts = [m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        special = {id(p) for p in shifts} | {id(model.whiten.bias)}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in special]
        self.whitening_bias = ParamGroup([model.whiten.bias])
        groups = [ParamGroup(shifts, lr_scale=cfg.bias_lr_scale, wd_scale=1 / cfg.bias_lr_scale), self.whitening_bias]
        if cfg.optimizer != "muon":
            return groups + [ParamGroup(rest)]
        # Muon's rate is given as a multiple of the base rate, so that the schedule scales it too
        filters = ParamGroup([p for p in rest if p.dim() == 4], lr_scale=cfg.muon_lr / cfg.lr, wd_scale=0.0, muon=True)
        return groups + [filters, ParamGroup([p for p in rest if p.dim() != 4])]

    def build_optimizer(self, groups: list[ParamGroup]) -> torch.optim.Optimizer:
        if self.cfg.optimizer != "muon":
            return super().build_optimizer(groups)
        from cifarlab.training.muon import MuonWithSGD

        cfg = self.cfg
        return MuonWithSGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                           weight_decay=cfg.weight_decay, muon_momentum=cfg.muon_momentum,
                           muon_dtype=self.muon_dtype)

    @property
    def muon_dtype(self) -> torch.dtype:
        """--muon-precision run: float32 when the run computes in float32 (on a CPU without
        native bf16, where bf16 products are emulated), else bf16 as published."""
        wanted = self.cfg.muon_precision
        if wanted == "run":
            wanted = "fp32" if self.autocast_dtype is None else "bf16"
        return torch.float32 if wanted == "fp32" else torch.bfloat16

    # 3. before a step -------------------------------------------------------------------
    @property
    def whiten_bias_steps(self) -> int:
        return round(self.cfg.whiten_bias_epochs * self.epoch_steps)

    def before_step(self, inputs: torch.Tensor) -> None:
        if self.step == 0:
            self.model.init_whitening(inputs)  # from the first whole, un-augmented batch
        if not self.distributed:
            # A frozen bias needs no gradient, and without it autograd skips the first block's
            # input gradient too: 3-7 % of a step on a 2-core CPU (benchmarks/step_cost.py).
            # DDP expects the same parameters to get gradients at every step, so there the
            # bias freezes by lr 0 alone (lr_scale).
            self.model.whiten.bias.requires_grad_(self.step < self.whiten_bias_steps)

    def lr_scale(self, group: ParamGroup) -> float:
        if group is self.whitening_bias and self.step >= self.whiten_bias_steps:
            return 0.0  # --whiten-bias-epochs: the bias learns for the first epochs only
        return group.lr_scale

    # 4. augmentation --------------------------------------------------------------------
    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        cfg, generator = self.cfg, self.augment_generator
        # --small-crop: random windows for the first --small-crop-epochs (a 28x28 window costs
        # 0.72x a whole image on a 2-core AMD EPYC: benchmarks/step_cost.py)
        size = window_size(self.step, round(cfg.small_crop_epochs * self.epoch_steps), cfg.small_crop,
                           cfg.small_crop_growth, inputs.shape[-1])
        if cfg.flip == "random":
            inputs = flip_and_crop(inputs, cfg.crop_padding, generator, size)
        else:
            if (self.step // self.epoch_steps) % 2:  # staged half-mirrored (step 1): turned in odd epochs
                inputs = inputs.flip(-1)
            inputs = random_crop(inputs, cfg.crop_padding, generator, size)
        # --brightness/--contrast: with label smoothing 0.1, +0.09 points on a GPU screen of 8 seeds
        return colour_jitter(inputs, cfg.brightness, cfg.contrast, generator)

    # 5. loss ----------------------------------------------------------------------------
    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.last_losses is None:
            # torch's own mean: the per-image route rounds differently, and runs without
            # --skip-easiest keep the numerics of older versions (tests/test_old_run_directories.py)
            return F.cross_entropy(logits, targets, label_smoothing=self.cfg.label_smoothing)
        per_image = F.cross_entropy(logits, targets, label_smoothing=self.cfg.label_smoothing, reduction="none")
        self.losses_of_step.append(per_image.detach().float())  # remembered for step 1's choice in later epochs
        return per_image.mean()

    # 6. after a step --------------------------------------------------------------------
    def after_step(self) -> None:
        if self.last_losses is not None and self.chosen is not None:
            self.last_losses.record(self.chosen, torch.cat(self.losses_of_step).cpu().numpy())
        self.chosen, self.losses_of_step = None, []
        if self.lookahead is None:
            return
        self.lookahead.after_step(self.model, self.step)
        if self.step % self.epoch_steps == 0 or self.step == self.cfg.steps:
            self.lookahead.settle(self.model)  # evaluations and checkpoints see the average

    def recipe_state(self) -> dict:
        state = self.lookahead.state_dict() if self.lookahead else {}
        return {**state, **self.last_losses.state_dict()} if self.last_losses is not None else state

    def load_recipe_state(self, state: dict) -> None:
        if self.lookahead and state:
            self.lookahead.load_state_dict(state)
        if self.last_losses is not None:
            self.last_losses.load_state_dict(state)

    # 7. evaluation ----------------------------------------------------------------------
    @torch.inference_mode()
    def logits(self, x: np.ndarray) -> torch.Tensor:
        """--tta: average the logits over test-time views. With --tta-fraction below 1, every
        image first gets one plain view, and only the least confident share the TTA views (the
        extra views seldom change a confident prediction: with 0.3, half the evaluation time
        and the same accuracy within 0.02 points on six trained runs)."""
        self.model.eval()
        if not self.cfg.tta:
            return self.logits_in_batches(x, self.plain_logits)
        if self.cfg.tta_fraction >= 1:
            return self.logits_in_batches(x, self.tta_logits)
        logits = self.logits_in_batches(x, self.plain_logits)
        unsure = least_confident(logits, self.cfg.tta_fraction)
        if len(unsure):
            logits[unsure] = self.logits_in_batches(x[unsure.cpu().numpy()], self.tta_logits)
        return logits

    def tta_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The image and its mirror image; with --tta-translate also the mirrored pair shifted one
        pixel up-left and down-right (weights 1/2, 1/4, 1/4: 6 views)."""
        with self.autocast():
            logits = self.mirrored(inputs)
            if self.cfg.tta_translate:
                padded = F.pad(inputs, (1, 1, 1, 1), mode="reflect")
                height, width = inputs.shape[-2:]
                shifted = [padded[..., :height, :width], padded[..., 2:, 2:]]
                logits = 0.5 * logits + 0.25 * sum(self.mirrored(view.contiguous(memory_format=self.memory_format))
                                                   for view in shifted)
            return logits

    def mirrored(self, inputs: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.model(inputs).float() + self.model(inputs.flip(-1)).float())

    # what the network learned (training/fastnet/pictures.py) -----------------------------
    def layer_pictures(self, test_inputs: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
        return {"first_layer": (whitening_patches(self.model),
                                "the whitening layer's 2x2 patches (patch eigenvectors / sqrt(eigenvalue))"),
                "first_filters": (preferred_patches(filters_through_whitening(self.model), test_inputs),
                                  "first trained convolution through the whitening: the 4x4 image patch each "
                                  "filter responds to most (its weights x the patch covariance)")}


def window_size(step: int, window_steps: int, smallest: int, growth: bool, whole: int) -> int | None:
    """The side of the training windows at `step` (None: whole images). The first `window_steps`
    steps train on `smallest`-pixel windows or, with `growth`, on sizes 4 pixels apart from
    `smallest` up to below `whole`, each for an equal share of those steps."""
    if not smallest or step >= window_steps:
        return None
    sizes = window_sizes(smallest, growth, whole)
    return sizes[step * len(sizes) // window_steps]


def window_sizes(smallest: int, growth: bool, whole: int) -> list[int]:
    """The window sides a run trains on, smallest first, each for an equal share of its window steps."""
    return list(range(smallest, whole, 4) or [smallest]) if growth else [smallest]


def least_confident(logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """Sorted row indices of the round(fraction x N) rows whose top softmax probability is
    lowest (ties: the earlier row first)."""
    confidence = torch.softmax(logits.float(), dim=1).amax(dim=1)
    count = round(fraction * len(logits))
    return torch.sort(torch.argsort(confidence, stable=True)[:count]).values
