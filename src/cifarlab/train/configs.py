"""One frozen dataclass per trainable model, holding the study's defaults.

The CLI options are generated from these fields (help text in `metadata`), and the
resolved config is printed and saved as config.json in every run directory.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field


def option(default, help: str, choices=None):
    metadata = {"help": help, **({"choices": choices} if choices else {})}
    return field(default=default, metadata=metadata)


SCHEDULES = ("constant", "cosine", "linear", "step")


@dataclass(frozen=True)
class TrainConfig:
    """Fields every trainer shares."""

    steps: int = option(1500, "number of optimisation steps (mini-batches)")
    batch_size: int = option(200, "mini-batch size")
    lr: float = option(2e-3, "peak learning rate")
    eval_every: int = option(100, "evaluate train and test metrics every this many steps")
    optimizer: str = option("sgd", "optimiser", ("sgd", "adam"))
    momentum: float = option(0.0, "SGD momentum")
    nesterov: bool = option(False, "Nesterov momentum for SGD")
    weight_decay: float = option(0.0, "L2 weight decay")
    schedule: str = option("constant", "learning-rate schedule after warm-up: constant, cosine or linear decay "
                                       "to 0, or step (x0.1 at 50%% and 75%% of the steps)", SCHEDULES)
    warmup_steps: int = option(0, "linear learning-rate warm-up from 0 over this many steps")
    val_size: int = option(0, "hold out this many training images as a validation set (0: none)")
    train_eval_size: int = option(10000, "training images used for train metrics: a fixed sample "
                                         "drawn with the seed (0: the whole training set)")
    early_stop: int = option(0, "stop when the monitored loss has not improved for this many "
                                "evaluations, keeping the best weights (0: off)")
    target_acc: float = option(0.0, "stop at the first evaluation whose accuracy (validation if held out, "
                                    "else test) reaches this fraction, e.g. 0.94 (0: off)")
    seed: int = option(42, "seed for initialisation, batch order, dropout and augmentation")

    def __post_init__(self):
        positive = ("steps", "batch_size", "eval_every")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"--lr must be positive, got {self.lr}")
        for name in ("val_size", "train_eval_size", "warmup_steps", "early_stop", "weight_decay", "momentum"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.target_acc <= 1.0:
            raise ValueError(f"--target-acc is a fraction in [0, 1], got {self.target_acc}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ValueError("--nesterov needs --optimizer sgd and --momentum > 0")


@dataclass(frozen=True)
class NumpyMLPConfig(TrainConfig):
    """Study part 1: the NumPy MLP (defaults: the report's run)."""

    hidden: tuple[int, ...] = option((100,), "hidden layer sizes, comma-separated")
    activation: str = option("leaky_relu", "hidden activation", ("relu", "leaky_relu"))
    neg_slope: float = option(0.02, "LeakyReLU negative slope")
    batch_norm: bool = option(False, "batch normalisation after each hidden linear layer")
    dropout: float = option(0.0, "dropout probability after each hidden activation")

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TorchTrainConfig(TrainConfig):
    """Fields of every torch model."""

    optimizer: str = option("adam", "optimiser (Adam betas 0.9, 0.999)", ("sgd", "adam", "adamw"))
    device: str = option("auto", "device: cuda when available with auto", ("auto", "cpu", "cuda"))
    threads: int = option(0, "CPU threads for torch (0: torch's default)")
    eval_batch_size: int = option(1000, "batch size for evaluation")
    augment: bool = option(False, "random crop (reflect padding) and horizontal flip of training batches")
    crop_padding: int = option(4, "padding of the random crop")
    distributed: bool = option(False, "data-parallel over the processes torchrun starts (gloo on CPU, nccl on "
                                      "CUDA); --batch-size is then the global batch")
    precision: str = option("fp32", "autocast precision of the forward pass: bf16 or fp16 on CUDA (auto: bf16 "
                                    "on CUDA, fp32 on CPU, where this machine has no fast low-precision units)",
                            ("auto", "fp32", "bf16", "fp16"))
    compile: bool = option(False, "torch.compile the model (CUDA: with --precision fp32 only; the first steps are slow)")

    def __post_init__(self):
        super().__post_init__()
        if self.threads < 0 or self.eval_batch_size <= 0 or self.crop_padding < 0:
            raise ValueError("--threads and --crop-padding must be >= 0, --eval-batch-size positive")


@dataclass(frozen=True)
class TorchMLPConfig(TorchTrainConfig):
    """Study part 2: the PyTorch MLP (defaults: the study's first run)."""

    hidden: tuple[int, ...] = option((100,), "hidden layer sizes, comma-separated")
    activation: str = option("leaky_relu", "hidden activation", ("relu", "leaky_relu"))
    neg_slope: float = option(0.02, "LeakyReLU negative slope")
    batch_norm: str = option("none", "batch norm after each hidden linear layer: torch's or a custom form",
                             ("none", "torch", "autograd", "function"))
    dropout: float = option(0.0, "dropout probability after each hidden activation")

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class ConvNetConfig(TorchTrainConfig):
    """Study part 4: the VGG-like ConvNet with the study's protocol as defaults."""

    steps: int = option(5000, "number of optimisation steps (mini-batches)")
    batch_size: int = option(32, "mini-batch size")
    lr: float = option(1e-4, "peak learning rate")
    eval_every: int = option(500, "evaluate train and test metrics every this many steps")
    train_eval_size: int = option(0, "training images used for train metrics (0: the whole training set, "
                                     "as in the study)")
    batch_norm: str = option("torch", "batch norm form: torch's or a custom 2-D form", ("torch", "autograd", "function"))
    # measured on a 2-core CPU: batches of 100 evaluate ~25 % faster than 1000 (cache-sized activations)
    eval_batch_size: int = option(100, "batch size for evaluation")
    channels_last: bool = option(True, "NHWC memory format (faster convolutions on CPU and GPU)")


@dataclass(frozen=True)
class FastNetConfig(TorchTrainConfig):
    """A fast modern ConvNet recipe (issue 6): whitening layer, GELU, label smoothing, Nesterov
    SGD with warm-up and linear decay, flip and translate augmentation, flip TTA."""

    epochs: float = option(10.0, "training budget in passes over the training set (sets the steps)")
    steps: int = option(1, "optimisation steps; replaced by --epochs when that is positive")
    batch_size: int = option(1024, "mini-batch size")
    lr: float = option(1.5, "peak learning rate (of the mean loss; batch-norm shifts get --bias-lr-scale times it)")
    optimizer: str = option("sgd", "optimiser", ("sgd", "adam", "adamw"))
    momentum: float = option(0.85, "SGD momentum")
    nesterov: bool = option(True, "Nesterov momentum for SGD")
    weight_decay: float = option(1.3e-3, "L2 weight decay")
    schedule: str = option("linear", "learning-rate schedule after warm-up", SCHEDULES)
    warmup_steps: int = option(60, "linear learning-rate warm-up from 0 over this many steps")
    eval_every: int = option(48, "evaluate every this many steps (48: once per epoch at batch 1024)")
    augment: bool = option(True, "random translate (reflect padding) and horizontal flip of training batches")
    crop_padding: int = option(2, "padding of the random translate")
    label_smoothing: float = option(0.2, "label smoothing of the training loss")
    tta: bool = option(True, "evaluate on each image and its mirror image, averaging the logits")
    tta_translate: bool = option(False, "with --tta, also average over two 1-pixel diagonal shifts (6 views: "
                                        "3x the evaluation cost)")
    widths: tuple[int, ...] = option((64, 256, 256), "widths of the three conv blocks")
    bias_lr_scale: float = option(64.0, "learning-rate multiplier of the batch-norm shifts")
    whiten_bias_epochs: float = option(3.0, "train the whitening layer's bias for this many epochs, then freeze it")
    lookahead_epochs: float = option(3.0, "average the weights (lookahead) from this epoch on; negative: never")
    channels_last: bool = option(True, "NHWC memory format")
    train_eval_size: int = option(5000, "training images used for train metrics (0: all)")
    eval_batch_size: int = option(500, "batch size for evaluation (500: fastest on a 2-core CPU)")
    precision: str = option("auto", "autocast precision of the forward pass (auto: bf16 on CUDA, fp32 on CPU)",
                            ("auto", "fp32", "bf16", "fp16"))

    def __post_init__(self):
        super().__post_init__()
        if len(self.widths) != 3:
            raise ValueError("--widths takes three block widths, e.g. 64,256,256")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError("--label-smoothing must be in [0, 1)")


def resolve_steps(cfg, n_train: int):
    """A config whose `epochs` budget (when positive) is turned into steps for n_train images."""
    epochs = getattr(cfg, "epochs", 0)
    if not epochs:
        return cfg
    import math

    return dataclasses.replace(cfg, steps=max(1, math.ceil(epochs * (n_train // cfg.batch_size))))


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
    """Inverse of config_to_dict (JSON turns tuples into lists); unknown keys are ignored."""
    hints = {f.name: f for f in dataclasses.fields(config_cls)}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in hints}
    return config_cls(**clean)
