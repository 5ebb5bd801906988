"""Torch optimisers built from a config, over typed parameter groups.

A `ParamGroup` says how one set of parameters learns relative to the config's --lr and
--weight-decay. Torch's optimisers want dicts; `torch_groups` is the one place that turns
the typed groups into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cifarlab.errors import CifarlabError


@dataclass(frozen=True, eq=False)  # eq=False: compared by identity, as the learner looks its groups up
class ParamGroup:
    """Parameters that learn at `lr_scale` x the scheduled learning rate with `wd_scale` x the
    weight decay; `muon`: their steps are Muon's (training/muon.py), not SGD's."""

    params: list[torch.nn.Parameter]
    lr_scale: float = 1.0
    wd_scale: float = 1.0
    muon: bool = False


def torch_groups(groups: list[ParamGroup], weight_decay: float) -> list[dict]:
    return [{"params": group.params, "weight_decay": weight_decay * group.wd_scale} for group in groups]


def build_optimizer(cfg, groups: list[ParamGroup]) -> torch.optim.Optimizer:
    """SGD (with --momentum, --nesterov), Adam or AdamW (betas 0.9, 0.999) from `cfg`'s fields."""
    params = torch_groups(groups, cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer in ("adam", "adamw"):
        adam = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
        return adam(params, lr=cfg.lr, betas=(0.9, 0.999), weight_decay=cfg.weight_decay)
    raise CifarlabError(f"unknown optimizer {cfg.optimizer!r}")
