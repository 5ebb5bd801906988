"""`cifarlab evaluate RUN_DIR`: reload a run's weights and measure it again."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP
from cifarlab.cli.reload_options import add_reload_options, apply_reload_options


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="re-measure a saved run from its weights",
                                 description="Reload RUN_DIR's weights, evaluate on the full test set and the "
                                             "run's training sample, and compare with its metrics.json. Exit "
                                             "status 1 when the test accuracy differs (exactly on the device "
                                             "and precision it trained with, within 0.5 points on another).")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory written by `cifarlab train`")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP + "; default: the run's own source")
    add_reload_options(parser)
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from cifarlab.train.run import format_table
    from cifarlab.train.rundir import read_json
    from cifarlab.train.saved_run import compare_with_saved, evaluate_run

    apply_reload_options(args)
    metrics, trained_on, evaluated_on = evaluate_run(args.run_dir, args.data, args.device, args.threads)
    print(format_table(metrics, f"{args.run_dir}: re-evaluated on {evaluated_on} in {metrics['eval_seconds']:.1f} s"))
    saved_path = args.run_dir / "metrics.json"
    if not saved_path.exists():
        print("no metrics.json to compare with (the run has not finished)")
        return 0
    agrees, sentence = compare_with_saved(read_json(saved_path), metrics, trained_on, evaluated_on)
    print(sentence)
    return 0 if agrees else 1
