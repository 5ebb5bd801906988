"""One frozen dataclass per trainable model, holding the study's defaults: what a run *is*
(fastnet's lives beside its recipe, in training/fastnet/config.py).

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

    def depends_on_total_steps(self) -> str:
        """Why a longer run would not continue this one ('' if it would): `train --resume` extends
        a finished run to a larger --steps only when no step depends on the total."""
        return f"its --schedule {self.schedule} depends on the total steps" if self.schedule != "constant" else ""


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
    eval_batch_size: int = option(1000, "batch size for evaluation (0: the fastest of 100/250/500/1000 on this "
                                        "machine, timed once and remembered in the cache directory)")
    augment: bool = option(False, "random crop (reflect padding) and horizontal flip of training batches")
    crop_padding: int = option(4, "padding of the random crop")
    micro_batch_size: int = option(0, "split each batch into micro-batches of this size for the forward and "
                                      "backward passes, adding up their gradients (0: whole batches); batch "
                                      "norm then sees micro-batches. On a CPU small batches can run faster per "
                                      "image (their activations stay in the caches)")

    def __post_init__(self):
        super().__post_init__()
        if self.eval_batch_size < 0 or self.crop_padding < 0:
            raise ValueError("--eval-batch-size (0: timed) and --crop-padding must not be negative")
        if self.micro_batch_size < 0:
            raise ValueError(f"--micro-batch-size must not be negative (0: whole batches), got {self.micro_batch_size}")


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
    batch_norm: str = option("torch", "batch norm form: torch's or a custom 2-D form",
                             ("torch", "autograd", "function"))
    pipeline: str = option("course", PIPELINE_HELP, PIPELINES)
    # measured on a 2-core CPU: batches of 100 evaluate ~25 % faster than 1000 (cache-sized activations)
    eval_batch_size: int = option(100, "batch size for evaluation (0: timed, see mlp --help)")
    channels_last: bool = option(True, "NHWC memory format (faster convolutions on CPU and GPU)")


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
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 500,500,500, "
                                         f"got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return values


def recipe_difference(saved, wanted) -> str:
    """'' when `wanted` (a config as resolved from options, its budget perhaps in epochs) is the
    recipe of `saved` (a run's config, its steps resolved); else the first difference in words."""
    theirs, ours = dataclasses.asdict(saved), dataclasses.asdict(wanted)
    if ours["epochs"] and ours["epochs"] == theirs["epochs"]:
        theirs["steps"] = ours["steps"]  # the steps were resolved from these epochs
    for name, value in ours.items():
        if theirs.get(name) != value:
            return f"{name} {theirs.get(name)!r} there, {value!r} here"
    return ""


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(config_cls, values: dict):
    """Inverse of config_to_dict (JSON turns tuples into lists). Runs saved by older versions
    load as they ran: unknown keys (fields that moved to the runtime) are ignored, and a field
    they lack takes the value the code had before the field existed (BEFORE_FIELD)."""
    hints = {f.name: f for f in dataclasses.fields(config_cls)}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in hints}
    return config_cls(**{**config_cls.BEFORE_FIELD, **clean})
