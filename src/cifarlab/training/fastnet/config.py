"""fastnet's options (what a run is) and its named presets.

Every field is read under its own name by the recipe (recipe.py); the command-line options are
generated from these fields. The defaults are the published airbench94 recipe (batch 1024, 10
epochs of Nesterov SGD); the presets are the CPU recipes, with what they measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cifarlab.training.configs import SCHEDULES, TorchTrainConfig, TrainConfig, option


@dataclass(frozen=True)
class FastNetConfig(TorchTrainConfig):
    """A fast modern ConvNet recipe: whitening layer, GELU, label smoothing, Nesterov
    SGD with warm-up and linear decay (or Muon for the filters), alternating flips and translate
    augmentation, mirror and translate TTA. The defaults are the published airbench94 recipe."""

    BEFORE_FIELD: ClassVar[dict] = {**TrainConfig.BEFORE_FIELD, "flip": "random", "muon_precision": "bf16"}

    steps: int = option(0, "number of optimisation steps, instead of --epochs (0: set by --epochs)")
    epochs: float = option(10.0, "training budget in passes over the training set (sets the steps)")
    batch_size: int = option(1024, "mini-batch size")
    lr: float = option(1.5, "peak learning rate (of the mean loss; batch-norm shifts get --bias-lr-scale times it)")
    optimizer: str = option("sgd", "optimiser (muon: Muon for the conv filters, Nesterov SGD for the rest)",
                            ("sgd", "muon", "adam", "adamw"))
    momentum: float = option(0.85, "SGD momentum")
    muon_lr: float = option(0.24, "with --optimizer muon: the filters' peak learning rate (an angle per step: "
                                  "each filter bank keeps its norm)")
    muon_momentum: float = option(0.6, "with --optimizer muon: the filters' (Nesterov) momentum")
    muon_precision: str = option("run", "with --optimizer muon: precision of its Newton-Schulz iterations (run: "
                                        "float32 when the run computes in float32, else bf16)", ("run", "bf16", "fp32"))
    nesterov: bool = option(True, "Nesterov momentum for SGD")
    weight_decay: float = option(1.3e-3, "L2 weight decay")
    schedule: str = option("linear", "learning-rate schedule after warm-up", SCHEDULES)
    warmup_steps: int = option(60, "linear learning-rate warm-up from 0 over this many steps")
    eval_every: int = option(48, "evaluate every this many steps (48: once per epoch at batch 1024; 0: only at "
                                 "the end)")
    augment: bool = option(True, "random translate (reflect padding) and horizontal flip of training batches")
    crop_padding: int = option(2, "padding of the random translate")
    small_crop: int = option(0, "train on random windows of this size (e.g. 24: about half the cost of a 32x32 "
                                "image) for the first --small-crop-epochs epochs, then on whole images (0: never)")
    small_crop_epochs: float = option(0.0, "epochs trained on --small-crop windows")
    small_crop_growth: bool = option(False, "grow the windows 4 pixels at a time, at equal intervals, from "
                                            "--small-crop towards the whole image over --small-crop-epochs (--small-"
                                            "crop 20: 20x20, 24x24, then 28x28 windows, a third of those epochs each)")
    brightness: float = option(0.0, "colour jitter: add to each training image one random offset of up to this "
                                    "many standard deviations, either sign (0: none)")
    contrast: float = option(0.0, "colour jitter: scale each training image about its own mean by a random factor "
                                  "within 1 +- this (0: none)")
    activation: str = option("gelu", "activation after the whitening layer and each batch norm", ("gelu", "silu"))
    flip: str = option("alternate", "horizontal flips of training images: random (each image with probability 1/2 "
                                 "at each step) or alternate (a seeded random half mirrored in the first epoch, "
                                 "then every image mirrored relative to its previous epoch)", ("random", "alternate"))
    label_smoothing: float = option(0.2, "label smoothing of the training loss")
    skip_easiest: float = option(0.0, "from --skip-from-epoch on, leave this share of each batch out: the images "
                                      "whose loss was lowest when last trained on (one left out is kept the next "
                                      "time); a step costs as much less (0: none)")
    skip_from_epoch: float = option(1.0, "with --skip-easiest, the epoch from which batches leave images out")
    tta: bool = option(True, "evaluate on each image and its mirror image, averaging the logits")
    tta_translate: bool = option(True, "with --tta, also average over two 1-pixel diagonal shifts (6 views: "
                                        "3x the evaluation cost)")
    tta_fraction: float = option(1.0, "with --tta, give the extra views only to this share of the evaluated images, "
                                      "those the plain model is least sure of; the rest keep one plain view (1: "
                                      "all images; 0.3: 1 + 0.3 x 6 = 2.8 views per image instead of 6)")
    widths: tuple[int, ...] = option((64, 256, 256), "widths of the three conv blocks")
    bias_lr_scale: float = option(64.0, "learning-rate multiplier of the batch-norm shifts")
    whiten_bias_epochs: float = option(3.0, "train the whitening layer's bias for this many epochs, then freeze it")
    lookahead_epochs: float = option(3.0, "average the weights (lookahead) from this epoch on; negative: never")
    channels_last: bool = option(True, "NHWC memory format")
    train_eval_size: int = option(5000, "training images used for train metrics (0: all)")
    eval_batch_size: int = option(500, "batch size for evaluation (0: the fastest of 100/250/500/1000 on this "
                                       "machine, timed once and remembered in the cache directory)")

    def __post_init__(self):
        super().__post_init__()
        if len(self.widths) != 3:
            raise ValueError("--widths takes three block widths, e.g. 64,256,256")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError("--label-smoothing must be in [0, 1)")
        if self.muon_lr <= 0:
            raise ValueError(f"--muon-lr must be positive, got {self.muon_lr}")
        if not 0.0 <= self.muon_momentum < 1.0:
            raise ValueError(f"--muon-momentum must be in [0, 1), got {self.muon_momentum}")
        if self.small_crop and not 16 <= self.small_crop <= 32:
            # below 16 pixels the three pooling stages leave nothing of the image
            raise ValueError(f"--small-crop must be 0 (off) or 16 to 32 pixels, got {self.small_crop}")
        if self.small_crop_epochs < 0:
            raise ValueError(f"--small-crop-epochs must not be negative, got {self.small_crop_epochs}")
        if self.small_crop_epochs > 0 and not self.small_crop:
            raise ValueError("--small-crop-epochs needs --small-crop SIZE")
        if self.small_crop_growth and not self.small_crop:
            raise ValueError("--small-crop-growth needs --small-crop SIZE")
        if self.small_crop and not self.augment:
            raise ValueError("--small-crop cuts its windows as augmentation: drop --no-augment")
        if self.brightness < 0:
            raise ValueError(f"--brightness must not be negative, got {self.brightness}")
        if not 0.0 <= self.contrast < 1.0:
            raise ValueError(f"--contrast must be in [0, 1), got {self.contrast}")
        if (self.brightness or self.contrast) and not self.augment:
            raise ValueError("--brightness and --contrast are augmentation: drop --no-augment")
        if not 0.0 <= self.skip_easiest < 1.0:
            raise ValueError(f"--skip-easiest must be in [0, 1), got {self.skip_easiest}")
        if self.skip_from_epoch < 0:
            raise ValueError(f"--skip-from-epoch must not be negative, got {self.skip_from_epoch}")
        if not 0.0 < self.tta_fraction <= 1.0:
            raise ValueError(f"--tta-fraction must be in (0, 1], got {self.tta_fraction}")

    def depends_on_total_steps(self) -> str:
        return (super().depends_on_total_steps()
                or "fastnet's lookahead and whitening-bias freeze depend on the total steps")


# The CPU presets train the conv filters with Muon, which needs fewer epochs than SGD for the
# same accuracy, in batches of 1000 (cpu85: 500) computed as micro-batches of 250 (part of the
# recipe: batch norm takes its statistics over each one; also the fastest size per image on the
# CPUs measured), with alternating flips, translate TTA and no warm-up or lookahead. The evaluation
# batch changes only the speed and its fastest size differs by CPU, so it is timed on the
# machine that runs (eval_batch_size 0, training/batch_timing.py). bf16 autocast trains
# 1.46-1.77x faster per image than float32 where the CPU computes bf16 natively and is emulated,
# far slower, elsewhere: --precision auto picks it only where it is native. Evaluated once, at
# the end, with the six TTA views for the 30 % least confident images only (9.3 s instead of
# 20.4 s, the same accuracy). What each preset reached, and where: README.md's presets table,
# generated from benchmarks/records/figures.toml.
CPU = {"optimizer": "muon", "batch_size": 1000, "micro_batch_size": 250, "lr": 1.0, "weight_decay": 2e-3,
       "muon_lr": 0.17, "muon_momentum": 0.7, "warmup_steps": 0, "lookahead_epochs": -1.0,
       "flip": "alternate", "tta_translate": True, "tta_fraction": 0.3, "eval_every": 0, "train_eval_size": 1000,
       "eval_batch_size": 0,  # timed on this machine, once
       "precision": "auto"}  # bf16 where the CPU computes it natively, else fp32 (emulated bf16 is far slower)
# The two CPU presets, one per purpose. cpu85, the quick one: narrow blocks, 3 epochs in batches of
# 500 (two micro-batches), at a lower rate for the smaller batch: on EPYC-Zen2 batches of 500 gave
# 86.11 / 86.09 / 86.20 % against 85.80 / 85.80 / 85.84 % for batches of 1000 at 3.25 epochs (seeds
# 4-6, ~1 % more time), which buys the quarter epoch (benchmarks/RESULTS.md). Before 2026-12-08 it
# was today's with --batch-size 1000 --lr 1.0 --muon-lr 0.17 --epochs 3.25.
CPU85 = {**CPU, "widths": (32, 128, 128), "epochs": 3.0, "batch_size": 500, "lr": 0.7, "muon_lr": 0.12}
# cpu-peer, the reference's accuracy: a narrower middle block than airbench94's, 28-pixel windows
# (about 0.76x a whole image's FLOPs) for the first 3 of 9 epochs, colour jitter, label smoothing
# 0.1 and SiLU (a step 0.96-0.97x GELU's on an Intel Xeon with AMX-BF16). It trains on every
# image: leaving each batch's easiest 30 % out (--skip-easiest 0.3) saved a quarter of its time
# but put it under the reference's accuracy over six seeds (benchmarks/RESULTS.md, EPYC-Zen2).
CPU_PEER = {**CPU, "widths": (64, 192, 256), "epochs": 9.0, "small_crop": 28, "small_crop_epochs": 3.0,
            "brightness": 0.14, "contrast": 0.13, "label_smoothing": 0.1, "activation": "silu"}

PRESETS = {"airbench94": {}, "cpu85": CPU85, "cpu-peer": CPU_PEER}
PRESET_PURPOSES = {"airbench94": "the published airbench94 recipe, made for a GPU (the defaults)",
                   "cpu85": "the quick CPU recipe: narrow blocks, 3 epochs",
                   "cpu-peer": "the CPU recipe at the accuracy of airbench94 on a CPU"}

# Presets that were merged into the two above, by what they were: benchmarks/RESULTS.md's older
# sections quote them. A run made with one keeps its options in its config.json, so it evaluates
# and resumes as before; asking for one by name says how to get it back. (cpu-peer before
# 2026-12-07 was today's with --activation gelu --small-crop-epochs 5; for some hours on
# 2026-12-07 it was today's with --skip-easiest 0.3 --skip-from-epoch 1.)
RETIRED_PRESETS = {
    "cpu90": {**CPU, "widths": (64, 192, 256), "epochs": 8.0, "small_crop": 28, "small_crop_epochs": 4.0},
    "cpu-peer-silu": CPU_PEER,  # renamed cpu-peer
}
