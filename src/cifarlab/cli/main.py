"""`cifarlab`: the single command-line entry point.

Each sub-command lives in its own module with `register(subparsers)`; user mistakes are
raised as CifarlabError and printed here as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from cifarlab._version import __version__
from cifarlab.errors import STOPPED_EXIT_STATUS, CifarlabError, RunStopped


def build_parser() -> argparse.ArgumentParser:
    from cifarlab.cli import (assignment_cmd, data_cmd, evaluate_cmd, export_cmd, gradcheck_cmd, plot_cmd, predict_cmd, reproduce_cmd,
                              sweep_cmd, train_cmd)

    parser = argparse.ArgumentParser(
        prog="cifarlab",
        description="Deep learning on CIFAR-10: train, evaluate, check gradients and plot runs.",
        epilog="Run `cifarlab COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"cifarlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (data_cmd, train_cmd, evaluate_cmd, predict_cmd, export_cmd, gradcheck_cmd, plot_cmd, sweep_cmd,
                   reproduce_cmd, assignment_cmd):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    from cifarlab.cli.sweep_cmd import shorthand

    argv = shorthand(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.handler(args) or 0)
    except CifarlabError as exc:
        print(f"cifarlab: error: {exc}", file=sys.stderr)
        return 2
    except RunStopped as exc:
        print(f"cifarlab: {exc}", file=sys.stderr)
        return STOPPED_EXIT_STATUS
    except KeyboardInterrupt:
        print("cifarlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
