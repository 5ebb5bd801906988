"""Trainable models by name: their config class, input layout, learner factory and presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cifarlab.errors import CifarlabError


@dataclass(frozen=True)
class ModelEntry:
    config_cls: type
    layout: str  # "flat" for MLPs, "nchw" for ConvNets
    make_learner: Callable  # (config, number of classes) -> Learner
    summary: str
    presets: dict[str, dict] = field(default_factory=dict)


def _numpy_mlp(cfg, classes):
    from cifarlab.train.numpy_learner import NumpyLearner

    return NumpyLearner(cfg, classes)


def model_registry() -> dict[str, ModelEntry]:
    from cifarlab.train.configs import NumpyMLPConfig

    return {
        "numpy-mlp": ModelEntry(NumpyMLPConfig, "flat", _numpy_mlp,
                                "NumPy MLP with hand-written backward (study part 1)",
                                presets={"study": {}}),
    }


def get_model(name: str) -> ModelEntry:
    models = model_registry()
    if name not in models:
        raise CifarlabError(f"unknown model {name!r}: choose one of {', '.join(models)}")
    return models[name]
