"""Experiment files (TOML): a model, fixed options, and what to search.

    [experiment]
    name = "mlp-tpe"            # the Optuna study name
    model = "mlp"               # any `cifarlab train` model
    sampler = "tpe"             # "grid": every point once; "tpe": Bayesian search over [space]
    trials = 20                 # tpe only: total trials over all workers
    objective = "test_accuracy" # a metrics.json field: *_accuracy is maximised, *_loss minimised
    pruner = "median"           # "median" stops trials whose curve falls below earlier ones; or "none"

    [fixed]                     # options every trial shares (as in `cifarlab train MODEL --help`)
    steps = 1500

    [[points]]                  # grid: an explicit list of option sets ...
    hidden = "100"
    [grid]                      # ... and/or the full product of these lists
    lr = [2e-3, 3e-3]
    [space]                     # tpe: a list is categorical; a table is a range
    lr = { low = 1e-4, high = 1e-2, log = true }
    batch_size = { low = 100, high = 300, step = 50 }
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.train.configs import parse_int_list
from cifarlab.train.registry import get_model

SAMPLERS = ("grid", "tpe")
PRUNERS = ("none", "median")


@dataclass(frozen=True)
class Experiment:
    name: str
    model: str
    sampler: str
    objective: str = "test_accuracy"
    pruner: str = "none"
    trials: int = 0
    fixed: dict = field(default_factory=dict)
    points: tuple[dict, ...] = ()  # the grid, expanded
    space: dict = field(default_factory=dict)
    source: str = ""

    @property
    def direction(self) -> str:
        return "maximize" if self.objective.endswith("accuracy") else "minimize"


def coerce_option(config_cls, name: str, value):
    """A TOML value as the config field's type ('500,500,500' -> (500, 500, 500))."""
    hints = typing.get_type_hints(config_cls)
    if name not in hints:
        known = ", ".join(f.name for f in dataclasses.fields(config_cls))
        raise CifarlabError(f"unknown option {name!r} for this model; known options: {known}")
    kind = hints[name]
    if typing.get_origin(kind) is tuple:
        return parse_int_list(value) if isinstance(value, str) else tuple(int(v) for v in value)
    if kind is float and isinstance(value, int):
        return float(value)
    if kind in (int, float, bool, str) and not isinstance(value, kind):
        raise CifarlabError(f"option {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def _expand_grid(points: list[dict], grid: dict) -> tuple[dict, ...]:
    product = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]
    base = points or [{}]
    return tuple({**point, **combo} for point in base for combo in product)


def load_experiment(path: Path) -> Experiment:
    try:
        spec = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CifarlabError(f"experiment file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CifarlabError(f"{path} is not valid TOML ({exc})") from None
    head = spec.get("experiment", {})
    for key in ("name", "model", "sampler"):
        if key not in head:
            raise CifarlabError(f"{path}: [experiment] needs a {key!r}")
    if head["sampler"] not in SAMPLERS:
        raise CifarlabError(f"{path}: sampler must be one of {SAMPLERS}, got {head['sampler']!r}")
    if head.get("pruner", "none") not in PRUNERS:
        raise CifarlabError(f"{path}: pruner must be one of {PRUNERS}")
    config_cls = get_model(head["model"]).config_cls
    fixed = {k: coerce_option(config_cls, k, v) for k, v in spec.get("fixed", {}).items()}
    points = _expand_grid(spec.get("points", []), spec.get("grid", {}))
    points = tuple({k: coerce_option(config_cls, k, v) for k, v in p.items()} for p in points)
    space = spec.get("space", {})
    for name in space:
        coerce_option(config_cls, name, space[name][0] if isinstance(space[name], list) else space[name]["low"])
    if head["sampler"] == "grid" and points == ({},):
        raise CifarlabError(f"{path}: a grid experiment needs [[points]] or [grid]")
    if head["sampler"] == "tpe" and (not space or int(head.get("trials", 0)) <= 0):
        raise CifarlabError(f"{path}: a tpe experiment needs a [space] and trials > 0")
    return Experiment(name=head["name"], model=head["model"], sampler=head["sampler"],
                      objective=head.get("objective", "test_accuracy"), pruner=head.get("pruner", "none"),
                      trials=int(head.get("trials", len(points))), fixed=fixed, points=points, space=space,
                      source=str(path))
