"""`train --print-config`: the resolved options as a TOML file that `train --config` reads back
(training/resolve.py reads it)."""

from __future__ import annotations

import json


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
