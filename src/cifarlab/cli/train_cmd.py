"""`cifarlab train MODEL`: options generated from the model's config dataclass."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP
from cifarlab.cli.options import add_config_options, config_from_args
from cifarlab.errors import CifarlabError


def register(commands) -> None:
    from cifarlab.train.registry import model_registry

    parser = commands.add_parser("train", help="train a model and write a run directory",
                                 description="Train a model; every run writes config.json, learning curves "
                                             "(.npy, JSON, CSV), metrics.json, weights and curves.png.")
    models = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    for name, entry in model_registry().items():
        sub = models.add_parser(name, help=entry.summary, description=entry.summary, allow_abbrev=False)
        sub.add_argument("--data", metavar="PATH", help=DATA_HELP)
        sub.add_argument("--out", metavar="RUN_DIR", type=Path,
                         help="run directory to write (default: runs/<model>-<date>-<time>)")
        sub.add_argument("--resume", metavar="RUN_DIR", type=Path,
                         help="continue the interrupted run in RUN_DIR with its saved config")
        if entry.presets:
            sub.add_argument("--preset", choices=sorted(entry.presets),
                             help="start from a named set of options (explicit options still win): "
                                  + "; ".join(f"{k}: {v or 'the defaults'}" for k, v in entry.presets.items()))
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        add_config_options(sub, entry.config_cls)
        sub.set_defaults(handler=run_train)


def given_on_command_line(field_name: str, argv: list[str]) -> bool:
    flag = "--" + field_name.replace("_", "-")
    return any(a == flag or a.startswith(flag + "=") or a == "--no-" + flag[2:] for a in argv)


def preset_overrides(preset: dict, argv: list[str]) -> dict:
    """Preset values for the options the user did not give explicitly."""
    return {name: value for name, value in preset.items() if not given_on_command_line(name, argv)}


def run_train(args) -> int:
    from cifarlab.train.registry import get_model
    from cifarlab.train.run import format_table, load_run, print_config, train_run
    from cifarlab.train.rundir import default_run_dir

    entry = get_model(args.model)
    if args.resume:
        model, cfg, record = load_run(args.resume)
        if model != args.model:
            raise CifarlabError(f"{args.resume} is a {model} run, not {args.model}")
        run_dir = args.resume
        args.data = args.data or record["data_source"]
    else:
        preset = getattr(args, "preset", None)
        overrides = preset_overrides(entry.presets[preset], args.argv) if preset else {}
        cfg = config_from_args(entry.config_cls, args, **overrides)
        run_dir = args.out or default_run_dir(args.model)
    speaks = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 prints for all
    if speaks:
        print_config(args.model, cfg)
        print(f"run directory: {run_dir}")
    metrics = train_run(args.model, cfg, run_dir, args.data, resume=bool(args.resume), progress=not args.quiet)
    if not speaks:
        return 0
    print(format_table(metrics, f"{args.model}: final metrics at step {metrics['step']} "
                                f"({metrics['train_seconds']:.1f} s)"))
    print(f"learning curves: {run_dir / 'curves.png'}")
    return 0
