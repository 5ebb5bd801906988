"""Option values from files (experiment files, config files): their types, and the config
and runtime they make. The command line's own options are generated in cli/options.py."""

from __future__ import annotations

import argparse
import typing

from cifarlab.errors import CifarlabError
from cifarlab.train.configs import parse_int_list
from cifarlab.train.registry import get_model


def option_types(model: str) -> dict:
    """Every option a file may set for `model`: its config's fields and, for torch
    models, the runtime's (device, threads, precision, ...), with their types."""
    from cifarlab.train.runtime import Runtime

    entry = get_model(model)
    hints = dict(typing.get_type_hints(entry.config_cls))
    if entry.runtime_defaults is not None:
        hints.update(typing.get_type_hints(Runtime))
    return hints


def coerce_option(model: str, name: str, value):
    """A TOML value as the option's type ('500,500,500' -> (500, 500, 500))."""
    hints = option_types(model)
    if name not in hints:
        raise CifarlabError(f"unknown option {name!r} for this model; known options: {', '.join(hints)}")
    kind = hints[name]
    if typing.get_origin(kind) is tuple:
        try:
            return parse_int_list(value) if isinstance(value, str) else tuple(int(v) for v in value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise CifarlabError(f"option {name!r}: {exc}") from None
    if kind is float and isinstance(value, int):
        return float(value)
    if kind in (int, float, bool, str) and not isinstance(value, kind):
        raise CifarlabError(f"option {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def config_and_runtime(model: str, options: dict):
    """(config, runtime) of `model` with these (coerced) option values over the defaults, or a
    CifarlabError that says what is wrong with them."""
    from cifarlab.train.configs import one_budget
    from cifarlab.train.runtime import RUNTIME_FIELDS, Runtime

    entry = get_model(model)
    recipe = {k: v for k, v in options.items() if k not in RUNTIME_FIELDS}
    try:
        cfg = entry.config_cls(**one_budget(recipe, set(recipe)))
        if entry.runtime_defaults is None:
            return cfg, None
        where = {k: v for k, v in options.items() if k in RUNTIME_FIELDS}
        return cfg, Runtime(**{**entry.runtime_defaults, **where})
    except (TypeError, ValueError) as exc:
        raise CifarlabError(str(exc)) from None
