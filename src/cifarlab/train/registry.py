"""Trainable models by name: their config class, input layout, learner factory and presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cifarlab.errors import CifarlabError


@dataclass(frozen=True)
class ModelEntry:
    config_cls: type
    layout: str  # "flat" (B, 3072) for the NumPy MLP; "nchw" images for torch models, augmentable
    make_learner: Callable  # (config, number of classes) -> Learner
    summary: str
    presets: dict[str, dict] = field(default_factory=dict)


# Recommended NumPy MLP: 58.2 % test accuracy in about 2.5 min on a 2-core CPU
# (benchmarks/RESULTS.md); the study's default reaches about 41.6 %.
NUMPY_MLP_BEST = {"hidden": (1024, 512), "batch_norm": True, "dropout": 0.1, "optimizer": "sgd", "momentum": 0.9,
                  "nesterov": True, "lr": 0.02, "schedule": "cosine", "weight_decay": 5e-4, "batch_size": 128,
                  "steps": 5000, "eval_every": 500}


# Recommended PyTorch MLP (no convolutions): augmentation lets a plain MLP go past 60 %
# (benchmarks/RESULTS.md has its measured accuracy and time on a 2-core CPU).
TORCH_MLP_BEST = {"hidden": (1024, 1024), "batch_norm": "torch", "dropout": 0.1, "augment": True,
                  "optimizer": "sgd", "momentum": 0.9, "nesterov": True, "lr": 0.05, "schedule": "cosine",
                  "warmup_steps": 100, "weight_decay": 5e-4, "batch_size": 256, "steps": 8000, "eval_every": 1000}


# Fast ConvNet recipes for a 2-core CPU (benchmarks/RESULTS.md has their measured times and
# accuracies); the defaults are the published GPU recipe (batch 1024, about 10 epochs).
# bf16 autocast trains 1.5-1.8x faster per image than float32 on a CPU with native bf16
# (AVX512-BF16 or AMX) at no measured cost in accuracy; on a CPU without it, add
# --precision fp32. Batches of 256 train fastest per image (benchmarks/fastnet_speed.py).
# Warm-up is 23 % of the steps, where airbench's learning rate peaks.
FASTNET_CPU85 = {"widths": (32, 128, 128), "epochs": 6.0, "batch_size": 256, "lr": 0.375, "warmup_steps": 270,
                 "eval_every": 100000, "train_eval_size": 2000, "tta_translate": True, "precision": "bf16"}
FASTNET_CPU90 = {"widths": (64, 256, 256), "epochs": 10.0, "batch_size": 256, "lr": 0.375, "warmup_steps": 450,
                 "eval_every": 100000, "train_eval_size": 2000, "tta_translate": True, "precision": "bf16"}


def _numpy_mlp(cfg, classes):
    from cifarlab.train.numpy_learner import NumpyLearner

    return NumpyLearner(cfg, classes)


def _torch_mlp(cfg, classes):
    from cifarlab.torch_nn.mlp import MLP
    from cifarlab.train.torch_learner import TorchLearner

    model = MLP(3072, cfg.hidden, classes, cfg.activation, cfg.neg_slope, cfg.batch_norm, cfg.dropout)
    return TorchLearner(model, cfg, cfg.crop_padding if cfg.augment else None)


def _convnet(cfg, classes):
    from cifarlab.torch_nn.convnet import ConvNet
    from cifarlab.train.torch_learner import TorchLearner

    padding = cfg.crop_padding if cfg.augment else None
    return TorchLearner(ConvNet(classes, cfg.batch_norm), cfg, padding, cfg.channels_last)


def _fastnet(cfg, classes):
    from cifarlab.torch_nn.fastnet import FastNet
    from cifarlab.train.fast_recipe import FastRecipe
    from cifarlab.train.torch_learner import TorchLearner

    model = FastNet(classes, cfg.widths)
    steps_per_epoch = round(cfg.steps / cfg.epochs) if cfg.epochs > 0 else max(1, 50000 // cfg.batch_size)
    recipe = FastRecipe(steps_per_epoch, cfg.steps, cfg.whiten_bias_epochs, cfg.lookahead_epochs)
    return TorchLearner(model, cfg, cfg.crop_padding if cfg.augment else None, cfg.channels_last,
                        cfg.label_smoothing, 2 if cfg.tta and cfg.tta_translate else int(cfg.tta), model.param_groups(cfg.bias_lr_scale), recipe)


def model_registry() -> dict[str, ModelEntry]:
    from cifarlab.train.configs import ConvNetConfig, FastNetConfig, NumpyMLPConfig, TorchMLPConfig

    return {
        "numpy-mlp": ModelEntry(NumpyMLPConfig, "flat", _numpy_mlp,
                                "NumPy MLP with hand-written backward (study part 1)",
                                presets={"study": {}, "best": NUMPY_MLP_BEST}),
        "mlp": ModelEntry(TorchMLPConfig, "nchw", _torch_mlp, "PyTorch MLP (study part 2)",
                          presets={"study": {}, "best": TORCH_MLP_BEST,
                                   "study-best": {"hidden": (500, 500, 500), "lr": 3e-3, "batch_size": 250}}),
        "convnet": ModelEntry(ConvNetConfig, "nchw", _convnet, "the study's VGG-like ConvNet (study part 4)",
                              presets={"study": {}}),
        "fastnet": ModelEntry(FastNetConfig, "nchw", _fastnet,
                              "a fast modern ConvNet (whitening, GELU, label smoothing, TTA; issue 6)",
                              presets={"airbench94": {}, "cpu85": FASTNET_CPU85, "cpu90": FASTNET_CPU90}),
    }


def get_model(name: str) -> ModelEntry:
    models = model_registry()
    if name not in models:
        raise CifarlabError(f"unknown model {name!r}: choose one of {', '.join(models)}")
    return models[name]
