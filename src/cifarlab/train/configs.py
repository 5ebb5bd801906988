"""One frozen dataclass per trainable model, holding the study's defaults: what a run *is*.

Where a run executes (device, threads, processes, precision, compile) is not here but in
`runtime.Runtime`, decided on the machine that runs the command. The CLI options are
generated from both (help text in `metadata`), and both are printed and saved in
config.json with every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from cifarlab.data.preprocess import PIPELINE_HELP, PIPELINES
from cifarlab.numpy_nn.linear import INIT_SCHEMES


def option(default, help: str, choices=None):
    metadata = {"help": help, **({"choices": choices} if choices else {})}
    return field(default=default, metadata=metadata)


SCHEDULES = ("constant", "cosine", "linear", "step")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class TrainConfig:
    """Fields every trainer shares."""

    steps: int = option(1500, "number of optimisation steps (mini-batches); 0 when --epochs sets the budget")
    epochs: float = option(0.0, "training budget in passes over the training set, instead of --steps (0: off)")
    batch_size: int = option(200, "mini-batch size")
    lr: float = option(2e-3, "peak learning rate")
    eval_every: int = option(100, "evaluate train and test metrics every this many steps (0: only at the end)")
    optimizer: str = option("sgd", "optimiser", ("sgd", "adam"))
    momentum: float = option(0.0, "SGD momentum")
    nesterov: bool = option(False, "Nesterov momentum for SGD")
    weight_decay: float = option(0.0, "L2 weight decay")
    schedule: str = option("constant", "learning-rate schedule after warm-up: constant, cosine or linear decay "
                                       "to 0, or step (x0.1 at 50%% and 75%% of the steps)", SCHEDULES)
    warmup_steps: int = option(0, "linear learning-rate warm-up from 0 over this many steps")
    pipeline: str = option("standardize", PIPELINE_HELP, PIPELINES)
    val_size: int = option(0, "hold out this many training images as a validation set (0: none)")
    train_eval_size: int = option(10000, "training images used for train metrics: a fixed sample "
                                         "drawn with the seed (0: the whole training set)")
    early_stop: int = option(0, "stop when the monitored loss has not improved for this many "
                                "evaluations, keeping the best weights (0: off)")
    target_acc: float = option(0.0, "stop at the first evaluation whose accuracy (validation if held out, "
                                    "else test) reaches this fraction, e.g. 0.94 (0: off)")
    seed: int = option(42, "seed for initialisation, batch order, dropout and augmentation")

    # what runs saved before a field existed did, for config_from_dict
    BEFORE_FIELD: ClassVar[dict] = {"pipeline": "standardize", "epochs": 0.0}

    def __post_init__(self):
        for name in ("batch_size", "lr"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{_flag(name)} must be positive, got {getattr(self, name)}")
        for name in ("steps", "epochs", "eval_every", "val_size", "train_eval_size", "warmup_steps", "early_stop",
                     "weight_decay", "momentum"):
            if getattr(self, name) < 0:
                raise ValueError(f"{_flag(name)} must not be negative, got {getattr(self, name)}")
        if not (self.steps or self.epochs):
            raise ValueError("the run needs a budget: --steps or --epochs must be positive")
        if not 0.0 <= self.target_acc <= 1.0:
            raise ValueError(f"--target-acc is a fraction in [0, 1], got {self.target_acc}")
        if self.nesterov and (self.optimizer not in ("sgd", "muon") or self.momentum <= 0):
            raise ValueError("--nesterov needs --optimizer sgd (or muon) and --momentum > 0")
        if self.eval_every == 0 and (self.target_acc or self.early_stop):
            raise ValueError("--target-acc and --early-stop act at evaluations, and --eval-every 0 evaluates only "
                             "at the end: give --eval-every N")


INIT_HELP = ("weight initialisation: course (normal, std 1e-4, zero biases: the course skeleton's NumPy Linear), "
             "he (normal, std sqrt(2 / fan_in), zero biases), torch (torch.nn.Linear's default: uniform "
             "+-1/sqrt(fan_in) weights and biases)")


@dataclass(frozen=True)
class MLPShape:
    """The network options both MLPs (NumPy and torch) share, with the same meaning."""

    hidden: tuple[int, ...] = option((100,), "hidden layer sizes, comma-separated")
    activation: str = option("leaky_relu", "hidden activation", ("relu", "leaky_relu"))
    neg_slope: float = option(0.02, "LeakyReLU negative slope")
    dropout: float = option(0.0, "dropout probability after each hidden activation")
    init: str = option("he", INIT_HELP, INIT_SCHEMES)
    pipeline: str = option("course", PIPELINE_HELP, PIPELINES)  # both MLPs' study runs used the course's

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class NumpyMLPConfig(MLPShape, TrainConfig):
    """Study part 1: the NumPy MLP (defaults: the report's run, with the course's pipeline and init)."""

    init: str = option("course", INIT_HELP, INIT_SCHEMES)

    BEFORE_FIELD: ClassVar[dict] = {**TrainConfig.BEFORE_FIELD, "init": "he"}
    batch_norm: bool = option(False, "batch normalisation after each hidden linear layer")


@dataclass(frozen=True)
class TorchTrainConfig(TrainConfig):
    """Fields of every torch model."""

    optimizer: str = option("adam", "optimiser (Adam betas 0.9, 0.999)", ("sgd", "adam", "adamw"))
    eval_batch_size: int = option(1000, "batch size for evaluation")
    augment: bool = option(False, "random crop (reflect padding) and horizontal flip of training batches")
    crop_padding: int = option(4, "padding of the random crop")

    def __post_init__(self):
        super().__post_init__()
        if self.eval_batch_size <= 0 or self.crop_padding < 0:
            raise ValueError("--eval-batch-size must be positive and --crop-padding >= 0")


@dataclass(frozen=True)
class TorchMLPConfig(MLPShape, TorchTrainConfig):
    """Study part 2: the PyTorch MLP (defaults: the study's first run)."""

    init: str = option("torch", INIT_HELP, INIT_SCHEMES)
    batch_norm: str = option("none", "batch norm after each hidden linear layer: torch's or a custom form",
                             ("none", "torch", "autograd", "function"))


@dataclass(frozen=True)
class ConvNetConfig(TorchTrainConfig):
    """Study part 4: the VGG-like ConvNet with the study's protocol as defaults."""

    steps: int = option(5000, "number of optimisation steps (mini-batches)")
    batch_size: int = option(32, "mini-batch size")
    lr: float = option(1e-4, "peak learning rate")
    eval_every: int = option(500, "evaluate train and test metrics every this many steps (0: only at the end)")
    train_eval_size: int = option(0, "training images used for train metrics (0: the whole training set, "
                                     "as in the study)")
    batch_norm: str = option("torch", "batch norm form: torch's or a custom 2-D form", ("torch", "autograd", "function"))
    pipeline: str = option("course", PIPELINE_HELP, PIPELINES)
    # measured on a 2-core CPU: batches of 100 evaluate ~25 % faster than 1000 (cache-sized activations)
    eval_batch_size: int = option(100, "batch size for evaluation")
    channels_last: bool = option(True, "NHWC memory format (faster convolutions on CPU and GPU)")


@dataclass(frozen=True)
class FastNetConfig(TorchTrainConfig):
    """A fast modern ConvNet recipe (issue 6): whitening layer, GELU, label smoothing, Nesterov
    SGD with warm-up and linear decay (or Muon for the filters), alternating flips and translate
    augmentation, mirror and translate TTA. The defaults are the published airbench94 recipe."""

    BEFORE_FIELD: ClassVar[dict] = {**TrainConfig.BEFORE_FIELD, "flip": "random"}

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
    micro_batch_size: int = option(0, "split each batch into micro-batches of this size for the forward and "
                                      "backward passes, adding up their gradients (0: whole batches); batch "
                                      "norm then sees micro-batches. On a CPU small batches run faster per "
                                      "image (their activations stay in the caches)")
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
    brightness: float = option(0.0, "colour jitter: add to each training image one random offset of up to this "
                                    "many standard deviations, either sign (0: none)")
    contrast: float = option(0.0, "colour jitter: scale each training image about its own mean by a random factor "
                                  "within 1 +- this (0: none)")
    activation: str = option("gelu", "activation after the whitening layer and each batch norm", ("gelu", "silu"))
    flip: str = option("alternate", "horizontal flips of training images: random (each image with probability 1/2 "
                                 "at each step) or alternate (a seeded random half mirrored in the first epoch, "
                                 "then every image mirrored relative to its previous epoch)", ("random", "alternate"))
    label_smoothing: float = option(0.2, "label smoothing of the training loss")
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
    eval_batch_size: int = option(500, "batch size for evaluation (500: fastest on a 2-core CPU)")

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
        if self.small_crop and not self.augment:
            raise ValueError("--small-crop cuts its windows as augmentation: drop --no-augment")
        if self.brightness < 0:
            raise ValueError(f"--brightness must not be negative, got {self.brightness}")
        if not 0.0 <= self.contrast < 1.0:
            raise ValueError(f"--contrast must be in [0, 1), got {self.contrast}")
        if (self.brightness or self.contrast) and not self.augment:
            raise ValueError("--brightness and --contrast are augmentation: drop --no-augment")
        if not 0.0 < self.tta_fraction <= 1.0:
            raise ValueError(f"--tta-fraction must be in (0, 1], got {self.tta_fraction}")
        if self.micro_batch_size < 0:
            raise ValueError(f"--micro-batch-size must not be negative (0: whole batches), got {self.micro_batch_size}")


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimiser a learner builds (NumPy or torch), read from a config by the registry."""

    name: str
    lr: float
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    muon_momentum: float = 0.0  # "muon": the filters' momentum (the rest take SGD with `momentum`)

    @classmethod
    def of(cls, cfg: TrainConfig) -> OptimizerSpec:
        return cls(cfg.optimizer, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay)


def one_budget(values: dict, given: set[str]) -> dict:
    """`values` with one training budget: an explicitly given --steps switches the epoch budget
    off and an explicit --epochs the step budget; giving both is an error."""
    if {"steps", "epochs"} <= given and values.get("steps") and values.get("epochs"):
        raise ValueError("give the budget as --steps or as --epochs, not both")
    if "steps" in given and values.get("steps"):
        return {**values, "epochs": 0.0}
    if "epochs" in given and values.get("epochs"):
        return {**values, "steps": 0}
    return values


def steps_per_epoch(cfg, n_train: int) -> int:
    return max(1, n_train // cfg.batch_size)


def resolve_steps(cfg, n_train: int):
    """The config with its budget in steps: an `epochs` budget becomes ceil(epochs x steps per
    epoch) for n_train training images (and is kept, as what was asked for)."""
    if not cfg.epochs:
        return cfg
    return dataclasses.replace(cfg, steps=max(1, math.ceil(cfg.epochs * steps_per_epoch(cfg, n_train))))


def parse_int_list(text: str) -> tuple[int, ...]:
    """'500,500,500' -> (500, 500, 500); '' or 'none' -> () (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 500,500,500, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(config_cls, values: dict):
    """Inverse of config_to_dict (JSON turns tuples into lists). Runs saved by older versions
    load as they ran: unknown keys (fields that moved to the runtime) are ignored, and a field
    they lack takes the value the code had before the field existed (BEFORE_FIELD)."""
    hints = {f.name: f for f in dataclasses.fields(config_cls)}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in hints}
    return config_cls(**{**config_cls.BEFORE_FIELD, **clean})
