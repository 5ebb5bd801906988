"""Experiment files (TOML): a model, fixed options, and what to search.

    [experiment]
    name = "mlp-tpe"            # the Optuna study name
    model = "mlp"               # any `cifarlab train` model
    sampler = "tpe"             # "grid": every point once; "tpe": Bayesian search over [space]
    trials = 20                 # tpe only: total trials over all workers
    objective = "test_accuracy" # a metrics.json field: *_accuracy is maximised, *_loss minimised
    pruner = "median"           # "median" stops trials whose curve falls below earlier ones; or "none"

    [fixed]                     # options every trial shares (as in `cifarlab train MODEL --help`,
                                # runtime options such as device included)
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

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.training.resolve import coerce_option, resolve

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


def _expand_grid(points: list[dict], grid: dict) -> tuple[dict, ...]:
    product = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]
    base = points or [{}]
    return tuple({**point, **combo} for point in base for combo in product)


def _check_points(path: Path, model: str, fixed: dict, points: tuple[dict, ...]) -> None:
    """Every grid point must make a valid config: a bad one is reported before any trial runs."""
    for index, point in enumerate(points):
        try:
            resolve(model, {**fixed, **point})
        except CifarlabError as exc:
            where = f"point {index + 1} ({point})" if point else "[fixed]"
            raise CifarlabError(f"{path}: {where}: {exc}") from None


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
    model = head["model"]
    fixed = {k: coerce_option(model, k, v) for k, v in spec.get("fixed", {}).items()}
    points = _expand_grid(spec.get("points", []), spec.get("grid", {}))
    points = tuple({k: coerce_option(model, k, v) for k, v in p.items()} for p in points)
    space = spec.get("space", {})
    for name in space:
        coerce_option(model, name, space[name][0] if isinstance(space[name], list) else space[name]["low"])
    if head["sampler"] == "grid" and points == ({},):
        raise CifarlabError(f"{path}: a grid experiment needs [[points]] or [grid]")
    _check_points(path, model, fixed, points if head["sampler"] == "grid" else ({},))
    if head["sampler"] == "tpe" and (not space or int(head.get("trials", 0)) <= 0):
        raise CifarlabError(f"{path}: a tpe experiment needs a [space] and trials > 0")
    return Experiment(name=head["name"], model=head["model"], sampler=head["sampler"],
                      objective=head.get("objective", "test_accuracy"), pruner=head.get("pruner", "none"),
                      trials=int(head.get("trials", len(points))), fixed=fixed, points=points, space=space,
                      source=str(path))
