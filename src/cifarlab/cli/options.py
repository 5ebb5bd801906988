"""Generate argparse options from a config dataclass, and build the config back.

Each field becomes `--field-name`; its `metadata["help"]` is the help text, and the
default shown is the dataclass default, so `--help` and the code cannot disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing

from cifarlab.errors import CifarlabError
from cifarlab.train.configs import parse_int_list


def _option_kwargs(field: dataclasses.Field, hint) -> dict:
    help_text = field.metadata.get("help", "")
    choices = field.metadata.get("choices")
    default = field.default
    origin = typing.get_origin(hint)
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction, "default": default, "help": help_text}
    if origin is tuple:
        shown = ",".join(map(str, default)) or "none"
        return {"type": parse_int_list, "default": default, "metavar": "N,N,...", "help": f"{help_text} (default: {shown})"}
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        inner = next(a for a in typing.get_args(hint) if a is not type(None))
        return {"type": inner, "default": default, "help": help_text}
    kwargs = {"type": hint, "default": default, "help": f"{help_text} (default: %(default)s)"}
    if choices:
        kwargs["choices"] = choices
    return kwargs


def add_config_options(parser: argparse.ArgumentParser, config_cls, skip: tuple[str, ...] = ()) -> None:
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, dest=field.name, **_option_kwargs(field, hints[field.name]))


def config_from_args(config_cls, args: argparse.Namespace, **overrides):
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls) if hasattr(args, f.name)}
    values.update(overrides)
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as exc:
        raise CifarlabError(str(exc)) from None
