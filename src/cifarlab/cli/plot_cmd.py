"""`cifarlab plot RUN_DIR...`: learning curves of one or several runs in one figure."""

from __future__ import annotations

from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("plot", help="plot and compare the learning curves of runs",
                                 description="Draw accuracy and loss (train dashed, test solid) of one or more "
                                             "run directories into one PNG.")
    parser.add_argument("run_dirs", metavar="RUN_DIR", type=Path, nargs="+", help="run directories")
    parser.add_argument("--output", "-o", type=Path, default=Path("curves.png"),
                        help="PNG to write (default: curves.png)")
    parser.add_argument("--title", default="", help="figure title")
    parser.set_defaults(handler=run_plot)


def run_plot(args) -> int:
    from cifarlab.rundir.curves import plot_histories
    from cifarlab.rundir.files import read_history
    from cifarlab.rundir.logs import StepLog

    histories = {str(run_dir): read_history(run_dir) for run_dir in args.run_dirs}
    steps = {str(run_dir): StepLog.read(run_dir) for run_dir in args.run_dirs}
    print(f"wrote {plot_histories(histories, args.output, args.title, steps)}")
    return 0
