"""Trainable models by name: their config class, input layout, learner factory and presets.

A factory turns a model's config into a learner: it reads the config's fields into the
model's constructor and into named settings (`TorchRecipe`), and takes the `Runtime` the
command chose. This file, the config dataclasses (configs.py) and the model's own file are
all it takes to follow a command-line option to the network.
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
    layout: str  # "flat" (B, 3072) for the NumPy MLP; "nchw" images for torch models, augmentable
    make_learner: Callable  # (config, DataShape, Runtime | None) -> Learner
    summary: str
    presets: dict[str, dict] = field(default_factory=dict)  # config and runtime fields by preset name
    runtime_defaults: dict | None = None  # None: the model takes no runtime (the NumPy engine)


# Recommended NumPy MLP: 58.2 % test accuracy in about 2.5 min on a 2-core CPU
# (benchmarks/RESULTS.md), measured with per-channel standardisation and He init.
NUMPY_MLP_BEST = {"pipeline": "standardize", "init": "he", "hidden": (1024, 512), "batch_norm": True,
                  "dropout": 0.1, "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.02, "schedule": "cosine", "weight_decay": 5e-4, "batch_size": 128,
                  "steps": 5000, "eval_every": 500}


# Recommended PyTorch MLP (no convolutions): augmentation lets a plain MLP go past 60 %
# (benchmarks/RESULTS.md has its measured accuracy and time on a 2-core CPU).
TORCH_MLP_BEST = {"pipeline": "standardize", "hidden": (1024, 1024), "batch_norm": "torch", "dropout": 0.1,
                  "augment": True, "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.05, "schedule": "cosine",
                  "warmup_steps": 100, "weight_decay": 5e-4, "batch_size": 256, "steps": 8000, "eval_every": 1000}


# Fast ConvNet recipes for a 2-core CPU (benchmarks/RESULTS.md has their measured times and
# accuracies); the defaults are the published GPU recipe (batch 1024, about 10 epochs).
# bf16 autocast trains 1.5-1.8x faster per image than float32 on a CPU with native bf16
# (AVX512-BF16 or AMX) at no measured cost in accuracy; on a CPU without it, add
# --precision fp32. Batches of 256 train fastest per image (benchmarks/fastnet_speed.py).
# Warm-up is 23 % of the steps, where airbench's learning rate peaks. Evaluated once, at the end.
FASTNET_CPU85 = {"widths": (32, 128, 128), "epochs": 6.0, "batch_size": 256, "lr": 0.375, "warmup_steps": 270,
                 "eval_every": 0, "train_eval_size": 2000, "tta_translate": True, "precision": "bf16"}
FASTNET_CPU90 = {"widths": (64, 256, 256), "epochs": 10.0, "batch_size": 256, "lr": 0.375, "warmup_steps": 450,
                 "eval_every": 0, "train_eval_size": 2000, "tta_translate": True, "precision": "bf16"}


def seeded(seed: int, build: Callable):
    """`build()` with torch's generator seeded by `seed`, leaving the global generator as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _numpy_mlp(cfg, data: DataShape, runtime=None):
    from cifarlab.train.numpy_learner import NumpyLearner

    return NumpyLearner(cfg, data.classes)


def _torch_recipe(cfg, **model_specific):
    from cifarlab.train.configs import OptimizerSpec
    from cifarlab.train.torch_learner import TorchRecipe

    return TorchRecipe(OptimizerSpec.of(cfg), batch_size=cfg.batch_size, seed=cfg.seed,
                       eval_batch_size=cfg.eval_batch_size, augment_padding=cfg.crop_padding if cfg.augment else None,
                       **model_specific)


def _torch_mlp(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.mlp import MLP
    from cifarlab.train.torch_learner import TorchLearner

    model = seeded(cfg.seed, lambda: MLP(3072, cfg.hidden, data.classes, activation=cfg.activation,
                                         neg_slope=cfg.neg_slope, batch_norm=cfg.batch_norm, dropout=cfg.dropout,
                                         init=cfg.init))
    return TorchLearner(model, _torch_recipe(cfg), runtime)


def _convnet(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.convnet import ConvNet
    from cifarlab.train.torch_learner import TorchLearner

    model = seeded(cfg.seed, lambda: ConvNet(data.classes, cfg.batch_norm))
    return TorchLearner(model, _torch_recipe(cfg, channels_last=cfg.channels_last), runtime)


def _fastnet(cfg, data: DataShape, runtime):
    from cifarlab.torch_nn.fastnet import FastNet
    from cifarlab.train.configs import steps_per_epoch
    from cifarlab.train.fast_recipe import FastRecipe
    from cifarlab.train.torch_learner import TorchLearner

    model = seeded(cfg.seed, lambda: FastNet(data.classes, cfg.widths))
    hooks = FastRecipe(steps_per_epoch(cfg, data.train_size), cfg.steps, cfg.whiten_bias_epochs,
                       cfg.lookahead_epochs)
    recipe = _torch_recipe(cfg, channels_last=cfg.channels_last, label_smoothing=cfg.label_smoothing,
                           tta=2 if cfg.tta and cfg.tta_translate else int(cfg.tta),
                           param_groups=model.param_groups(cfg.bias_lr_scale), hooks=hooks)
    return TorchLearner(model, recipe, runtime)


def model_registry() -> dict[str, ModelEntry]:
    from cifarlab.train.configs import ConvNetConfig, FastNetConfig, NumpyMLPConfig, TorchMLPConfig

    return {
        "numpy-mlp": ModelEntry(NumpyMLPConfig, "flat", _numpy_mlp,
                                "NumPy MLP with hand-written backward (study part 1)",
                                presets={"study": {}, "best": NUMPY_MLP_BEST}),
        "mlp": ModelEntry(TorchMLPConfig, "nchw", _torch_mlp, "PyTorch MLP (study part 2)",
                          presets={"study": {}, "best": TORCH_MLP_BEST,
                                   "study-best": {"hidden": (500, 500, 500), "lr": 3e-3, "batch_size": 250}},
                          runtime_defaults={}),
        "convnet": ModelEntry(ConvNetConfig, "nchw", _convnet, "the study's VGG-like ConvNet (study part 4)",
                              presets={"study": {}}, runtime_defaults={}),
        "fastnet": ModelEntry(FastNetConfig, "nchw", _fastnet,
                              "a fast modern ConvNet (whitening, GELU, label smoothing, TTA; issue 6)",
                              presets={"airbench94": {}, "cpu85": FASTNET_CPU85, "cpu90": FASTNET_CPU90},
                              runtime_defaults={"precision": "auto"}),
    }


def get_model(name: str) -> ModelEntry:
    models = model_registry()
    if name not in models:
        raise CifarlabError(f"unknown model {name!r}: choose one of {', '.join(models)}")
    return models[name]
