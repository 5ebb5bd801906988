"""Trainable models by name: their config class, engine, input layout, learner and presets.

A learner factory takes the model's config (the fields are read under their option names,
nothing is re-packed), what it needs of the data (`DataShape`) and, for torch models, the
`Runtime` the command chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cifarlab.errors import CifarlabError


@dataclass(frozen=True)
class DataShape:
    """What a factory needs to know of the data: the number of classes and of training images."""

    classes: int
    train_size: int


@dataclass(frozen=True)
class ModelEntry:
    config_cls: type
    engine: str  # "numpy" (no torch, no runtime options) or "torch"
    layout: str  # "flat" (B, 3072) for the NumPy MLP; "nchw" images for torch models, augmentable
    make_learner: Callable  # (config, DataShape, Runtime or None for the NumPy engine) -> Learner
    summary: str
    presets: dict[str, dict] = field(default_factory=dict)  # config and runtime fields by preset name
    retired_presets: dict[str, dict] = field(default_factory=dict)  # what presets no longer offered were
    preset_purposes: dict[str, str] = field(default_factory=dict)  # one line per preset, for --help
    runtime_defaults: dict = field(default_factory=dict)  # the model's own defaults of Runtime's fields

    @property
    def takes_runtime(self) -> bool:
        """Torch models run where a Runtime says (device, threads, precision); the NumPy engine has none."""
        return self.engine == "torch"


# Recommended NumPy MLP: per-channel standardisation, He init, batch norm and dropout take the
# NumPy engine well past the study's MLPs (accuracy and time: README.md's presets table).
NUMPY_MLP_BEST = {"pipeline": "standardize", "init": "he", "hidden": (1024, 512), "batch_norm": True,
                  "dropout": 0.1, "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.02,
                  "schedule": "cosine", "weight_decay": 5e-4, "batch_size": 128, "steps": 5000, "eval_every": 500}

# Recommended PyTorch MLP (no convolutions): augmentation lets a plain MLP go past 60 %
# (benchmarks/RESULTS.md has its measured accuracy and time on a 2-core CPU).
TORCH_MLP_BEST = {"pipeline": "standardize", "hidden": (1024, 1024), "batch_norm": "torch", "dropout": 0.1,
                  "augment": True, "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.05,
                  "schedule": "cosine", "warmup_steps": 100, "weight_decay": 5e-4, "batch_size": 256, "steps": 8000,
                  "eval_every": 1000}

# The study's best MLP (its Table 2)
STUDY_BEST_MLP = {"hidden": (500, 500, 500), "lr": 3e-3, "batch_size": 250}


def seeded(seed: int, build: Callable):
    """`build()` with torch's generator seeded by `seed`, leaving the global generator as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _numpy_mlp(cfg, data: DataShape, runtime=None):
    from cifarlab.training.numpy_learner import NumpyLearner

    return NumpyLearner(cfg, data.classes)


def _torch_mlp(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.mlp import MLP
    from cifarlab.training.torch_learner import TorchLearner

    model = seeded(cfg.seed, lambda: MLP(3072, cfg.hidden, data.classes, activation=cfg.activation,
                                         neg_slope=cfg.neg_slope, batch_norm=cfg.batch_norm, dropout=cfg.dropout,
                                         init=cfg.init))
    return TorchLearner(model, cfg, runtime)


def _convnet(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.convnet import ConvNet
    from cifarlab.training.torch_learner import TorchLearner

    model = seeded(cfg.seed, lambda: ConvNet(data.classes, cfg.batch_norm))
    return TorchLearner(model, cfg, runtime, channels_last=cfg.channels_last)


def _fastnet(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.fastnet import FastNet
    from cifarlab.training.fastnet.recipe import FastNetLearner

    model = seeded(cfg.seed, lambda: FastNet(data.classes, cfg.widths, cfg.activation))
    return FastNetLearner(model, cfg, runtime, data.train_size)


def model_registry() -> dict[str, ModelEntry]:
    from cifarlab.training.configs import ConvNetConfig, NumpyMLPConfig, TorchMLPConfig
    from cifarlab.training.fastnet.config import PRESET_PURPOSES, PRESETS, RETIRED_PRESETS, FastNetConfig

    return {
        "numpy-mlp": ModelEntry(NumpyMLPConfig, "numpy", "flat", _numpy_mlp,
                                "NumPy MLP with hand-written backward (study part 1)",
                                presets={"study": {}, "best": NUMPY_MLP_BEST},
                                preset_purposes={"study": "the study's MLP (the defaults)",
                                                 "best": "standardised pixels, He init, batch norm and dropout"}),
        "mlp": ModelEntry(TorchMLPConfig, "torch", "nchw", _torch_mlp, "PyTorch MLP (study part 2)",
                          presets={"study": {}, "best": TORCH_MLP_BEST, "study-best": STUDY_BEST_MLP},
                          preset_purposes={"study": "the study's MLP (the defaults)",
                                           "best": "batch norm, dropout and augmentation",
                                           "study-best": "the study's best MLP (its Table 2)"}),
        "convnet": ModelEntry(ConvNetConfig, "torch", "nchw", _convnet, "the study's VGG-like ConvNet (study part 4)",
                              presets={"study": {}}, preset_purposes={"study": "the study's ConvNet (the defaults)"}),
        "fastnet": ModelEntry(FastNetConfig, "torch", "nchw", _fastnet,
                              "a fast modern ConvNet (whitening, GELU, label smoothing, Muon, TTA)",
                              presets=PRESETS, retired_presets=RETIRED_PRESETS, preset_purposes=PRESET_PURPOSES,
                              runtime_defaults={"precision": "auto"}),
    }


def get_model(name: str) -> ModelEntry:
    models = model_registry()
    if name not in models:
        raise CifarlabError(f"unknown model {name!r}: choose one of {', '.join(models)}")
    return models[name]
