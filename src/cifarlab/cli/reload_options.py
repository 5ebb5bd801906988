"""Options of the commands that reload a saved run (`evaluate`, `predict`, `export`): which run,
and where to run it."""

from __future__ import annotations

from pathlib import Path


def add_run_dir(parser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory written by `cifarlab train`")


def add_reload_options(parser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="device to run the saved model on, whatever it was trained on (default: auto, "
                             "cuda when available)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: 0, torch's own)")


def check_reload_options(args) -> None:
    """--device and --threads checked as a run's runtime checks them (the command passes them on)."""
    from cifarlab.cli.options import build_config
    from cifarlab.training.runtime import Runtime

    build_config(Runtime, {"device": args.device, "threads": args.threads})  # the runtime's own checks
