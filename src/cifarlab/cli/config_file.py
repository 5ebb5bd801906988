"""`train --config FILE` and `--print-config`: a run's options in a file, and back.

A config file is TOML with the options' names as keys (`lr = 0.003`, `hidden = [500, 500]`),
recipe and runtime alike; or a run's config.json, which starts that run's recipe again. The
command line's flags win over the file, and the file over a preset.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.train.option_values import coerce_option

# where a saved run ran is not what it is: a config.json brings its recipe and its precision
NOT_CARRIED_OVER = ("device", "threads", "distributed")


def read_config_file(path: Path, model: str, config_cls) -> dict:
    """The option values in `path`, checked and typed for `model`."""
    if not path.is_file():
        raise CifarlabError(f"config file {path} does not exist")
    values = _from_run_record(path, model, config_cls) if path.suffix == ".json" else _from_toml(path)
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


def _from_run_record(path: Path, model: str, config_cls) -> dict:
    try:
        record = json.loads(path.read_text())
        saved, runtime = record["config"], record.get("runtime") or {}
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CifarlabError(f"{path} is not a run's config.json (no 'config' in it)") from None
    if record.get("model") != model:
        raise CifarlabError(f"{path} is a {record.get('model')} run, not {model}")
    values = {**config_cls.BEFORE_FIELD, **saved, **runtime}  # runs that lack a field ran as BEFORE_FIELD says
    if values.get("epochs") and values.get("steps"):
        del values["steps"]  # resolved from the epochs: the same data resolves it again
    return {name: value for name, value in values.items() if name not in NOT_CARRIED_OVER}


def _literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    return repr(value)


def to_toml(model: str, recipe: dict, runtime: dict | None) -> str:
    """The resolved options as a config file that `--config` reads back."""
    lines = [f"# cifarlab train {model} --config FILE: the recipe (saved with the run)"]
    lines += [f"{name} = {_literal(value)}" for name, value in recipe.items()]
    if runtime is not None:
        lines += ["", "# runtime (where it runs; chosen again by every command)"]
        lines += [f"{name} = {_literal(value)}" for name, value in runtime.items()]
    return "\n".join(lines) + "\n"
