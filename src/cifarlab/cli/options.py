"""Generate argparse options from a config dataclass, and build the config back.

Each field becomes `--field-name`; its `metadata["help"]` is the help text, and the
default shown is the dataclass default (or a model's override of it), so `--help` and the
code cannot disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing

from cifarlab.errors import CifarlabError
from cifarlab.training.configs import parse_int_list


def finite_float(text: str) -> float:
    """A float option's value: nan and inf are refused (they would only surface later, deep in torch)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _option_kwargs(field: dataclasses.Field, hint, default) -> dict:
    help_text = field.metadata.get("help", "")
    choices = field.metadata.get("choices")
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction, "default": default, "help": help_text}
    if typing.get_origin(hint) is tuple:
        shown = ",".join(map(str, default)) or "none"
        return {"type": parse_int_list, "default": default, "metavar": "N,N,...",
                "help": f"{help_text} (default: {shown})"}
    kind = finite_float if hint is float else hint
    kwargs = {"type": kind, "default": default, "help": f"{help_text} (default: %(default)s)"}
    if choices:
        kwargs["choices"] = choices
    return kwargs


def add_config_options(parser: argparse.ArgumentParser, config_cls, title: str, defaults: dict | None = None) -> None:
    """One option per field of `config_cls`, in a group titled `title` and described by the
    class's docstring; `defaults` overrides some fields' defaults."""
    hints = typing.get_type_hints(config_cls)
    group = parser.add_argument_group(title, " ".join((config_cls.__doc__ or "").split()))
    for field in dataclasses.fields(config_cls):
        default = (defaults or {}).get(field.name, field.default)
        flag = "--" + field.name.replace("_", "-")
        group.add_argument(flag, dest=field.name, **_option_kwargs(field, hints[field.name], default))


def given_on_command_line(field_name: str, argv: list[str]) -> bool:
    flag = "--" + field_name.replace("_", "-")
    return any(a == flag or a.startswith(flag + "=") or a == "--no-" + flag[2:] for a in argv)


def field_names(config_cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(config_cls))


def build_config(config_cls, values: dict):
    """`config_cls(**values)`, its checks' complaints as user errors."""
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as exc:
        raise CifarlabError(str(exc)) from None
