"""The one way to turn (model, preset, config file, options) into (config, runtime).

The command line, config files, sweeps, `reproduce` and the benchmarks all call `resolve`.
Layers apply in order, each over the one before: the model's defaults, the preset, the
config file, the options given explicitly. Options keep their flags' names (`lr`,
`batch_size`, `precision`); a name belongs to the model's config or to the Runtime.

One budget: a layer that gives --steps switches the --epochs budget of the layers below it
off, and one that gives --epochs the --steps budget; one layer giving both is an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import NamedTuple

from cifarlab.errors import CifarlabError
from cifarlab.training.configs import parse_int_list
from cifarlab.training.registry import get_model

# where a saved run ran is not what it is: a config.json brings its recipe and its precision
NOT_CARRIED_OVER = ("device", "threads", "distributed")


class Resolved(NamedTuple):
    config: object  # the model's config dataclass
    runtime: object | None  # a Runtime, or None for the NumPy engine


def resolve(model: str, options: dict | None = None, preset: str | None = None,
            config_file: Path | None = None) -> Resolved:
    """The config and runtime of `model`: its defaults, then `preset`, then `config_file`
    (TOML, or a run's config.json), then `options`. Any mistake is a CifarlabError."""
    entry = get_model(model)
    if preset in entry.retired_presets:
        raise CifarlabError(retired_preset_message(model, preset))
    if preset is not None and preset not in entry.presets:
        raise CifarlabError(f"unknown preset {preset!r} for {model}: choose one of {', '.join(entry.presets)}")
    layers = [entry.presets[preset] if preset else {},
              read_config_file(config_file, model) if config_file else {},
              {name: coerce_option(model, name, value) for name, value in (options or {}).items()}]
    values: dict = {}
    for layer in layers:
        values = {**_without_replaced_budget(values, layer), **layer}
    runtime_fields = _runtime_fields()
    try:
        config = entry.config_cls(**{k: v for k, v in values.items() if k not in runtime_fields})
        if not entry.takes_runtime:
            return Resolved(config, None)
        from cifarlab.training.runtime import Runtime

        where = {k: v for k, v in values.items() if k in runtime_fields}
        return Resolved(config, Runtime(**{**entry.runtime_defaults, **where}))
    except (TypeError, ValueError) as exc:
        raise CifarlabError(str(exc)) from None


def retired_preset_message(model: str, preset: str) -> str:
    """What became of a retired preset: the preset it was renamed, or the options that turn the
    nearest current preset into it."""
    entry = get_model(model)

    retired = _fields_of(resolve(model, options=entry.retired_presets[preset]))

    def options_changed(current: str) -> dict:
        recipe = _fields_of(resolve(model, preset=current))
        return {name: value for name, value in retired.items() if recipe[name] != value}

    nearest = min(entry.presets, key=lambda name: len(options_changed(name)))
    changes = options_changed(nearest)
    if not changes:
        return f"preset {preset!r} of {model} was renamed {nearest!r}: use --preset {nearest}"
    return (f"preset {preset!r} of {model} was retired; the same recipe is --preset {nearest} "
            + " ".join(_as_flag(name, value) for name, value in changes.items()))


def _fields_of(resolved: Resolved) -> dict:
    runtime = dataclasses.asdict(resolved.runtime) if resolved.runtime else {}
    return {**runtime, **dataclasses.asdict(resolved.config)}


def _as_flag(name: str, value) -> str:
    """The command-line option that sets `name` to `value`."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else "--no-" + flag[2:]
    if isinstance(value, (tuple, list)):
        return f"{flag} {','.join(map(str, value))}"
    return f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"


def _without_replaced_budget(values: dict, layer: dict) -> dict:
    """`values` less the budget that `layer` replaces (see the module's docstring)."""
    if layer.get("steps") and layer.get("epochs"):
        raise CifarlabError("give the budget as --steps or as --epochs, not both")
    given = [name for name in ("steps", "epochs") if name in layer]
    if given and not any(layer[name] for name in given):
        raise CifarlabError(f"the run needs a budget: --{given[0]} 0 trains nothing; "
                            "give a positive --steps or --epochs")
    if layer.get("steps"):
        return {**values, "epochs": 0.0}
    if layer.get("epochs"):
        return {**values, "steps": 0}
    return values


def _runtime_fields() -> tuple[str, ...]:
    from cifarlab.training.runtime import RUNTIME_FIELDS

    return RUNTIME_FIELDS


def option_types(model: str) -> dict:
    """Every option `model` takes: its config's fields and, for torch models, the runtime's
    (device, threads, precision, ...), with their types."""
    entry = get_model(model)
    classes = [entry.config_cls]
    if entry.takes_runtime:
        from cifarlab.training.runtime import Runtime

        classes.append(Runtime)
    hints = {}
    for cls in classes:
        types = typing.get_type_hints(cls)
        hints.update({field.name: types[field.name] for field in dataclasses.fields(cls)})  # not BEFORE_FIELD
    return hints


def coerce_option(model: str, name: str, value):
    """A value from a file or a caller as the option's type ('500,500,500' -> (500, 500, 500))."""
    hints = option_types(model)
    if name not in hints:
        raise CifarlabError(f"unknown option {name!r} for this model; known options: {', '.join(hints)}")
    kind = hints[name]
    if typing.get_origin(kind) is tuple:
        try:
            return parse_int_list(value) if isinstance(value, str) else tuple(int(v) for v in value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise CifarlabError(f"option {name!r}: {exc}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, bool, str) and not isinstance(value, kind):
        raise CifarlabError(f"option {name!r} must be a {kind.__name__}, got {value!r}")
    if kind is float and not math.isfinite(value):
        raise CifarlabError(f"option {name!r} must be a finite number, got {value!r}")
    return value


def read_config_file(path: Path, model: str) -> dict:
    """The option values in `path` (TOML with the options' names as keys, or a run's
    config.json), checked and typed for `model`."""
    if not path.is_file():
        raise CifarlabError(f"config file {path} does not exist")
    values = _from_run_record(path, model) if path.suffix == ".json" else _from_toml(path)
    return {name: coerce_option(model, name, value) for name, value in values.items()}


def _from_toml(path: Path) -> dict:
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CifarlabError(f"{path} is not valid TOML ({exc})") from None
    tables = [name for name, value in values.items() if isinstance(value, dict)]
    if tables:
        raise CifarlabError(f"{path}: options are plain keys (lr = 0.003), not tables such as [{tables[0]}]")
    return values


def _from_run_record(path: Path, model: str) -> dict:
    try:
        record = json.loads(path.read_text())
        saved, runtime = record["config"], record.get("runtime") or {}
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CifarlabError(f"{path} is not a run's config.json (no 'config' in it)") from None
    if record.get("model") != model:
        raise CifarlabError(f"{path} is a {record.get('model')} run, not {model}")
    known = {f.name for f in dataclasses.fields(get_model(model).config_cls)} | set(_runtime_fields())
    # runs that lack a field ran as BEFORE_FIELD says; fields since removed are left out
    values = {k: v for k, v in {**get_model(model).config_cls.BEFORE_FIELD, **saved, **runtime}.items() if k in known}
    if values.get("epochs") and values.get("steps"):
        del values["steps"]  # resolved from the epochs: the same data resolves it again
    return {name: value for name, value in values.items() if name not in NOT_CARRIED_OVER}
