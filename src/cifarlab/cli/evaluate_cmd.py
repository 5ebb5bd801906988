"""`cifarlab evaluate RUN_DIR`: reload a run's weights and measure it again."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="re-measure a saved run from its weights",
                                 description="Reload RUN_DIR's weights, evaluate on the full test set and the "
                                             "run's training sample, and compare with its metrics.json.")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory written by `cifarlab train`")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP + "; default: the run's own source")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from cifarlab.train.run import evaluate_run, format_table
    from cifarlab.train.rundir import read_json

    metrics = evaluate_run(args.run_dir, args.data)
    print(format_table(metrics, f"{args.run_dir}: re-evaluated in {metrics['eval_seconds']:.1f} s"))
    saved_path = args.run_dir / "metrics.json"
    if saved_path.exists():
        saved = read_json(saved_path)
        same = abs(saved["test_accuracy"] - metrics["test_accuracy"]) < 1e-9
        print(f"saved test accuracy {saved['test_accuracy']:.2%}: "
              + ("reproduced exactly" if same else f"DIFFERS (now {metrics['test_accuracy']:.2%})"))
    return 0
