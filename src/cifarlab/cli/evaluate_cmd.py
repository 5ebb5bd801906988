"""`cifarlab evaluate RUN_DIR`: reload a run's weights, measure it again, and show where it
goes wrong (per-class accuracy, confusion matrix, most confident mistakes)."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP
from cifarlab.cli.reload_options import add_reload_options, add_run_dir, check_reload_options


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="re-measure a saved run and show where it goes wrong",
                                 description="Reload RUN_DIR's weights, evaluate on the full test set and the "
                                             "run's training sample, and compare with its metrics.json (exit "
                                             "status 1 when the test accuracy differs: exactly on the device and "
                                             "precision it trained with, by more than 0.5 points on another). "
                                             "Writes per_class.csv, confusion_matrix.png and, with "
                                             "--misclassified, misclassified.png into RUN_DIR.")
    add_run_dir(parser)
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP + "; default: the run's own source")
    parser.add_argument("--misclassified", type=int, default=0, metavar="K",
                        help="also draw the K test images the model is most confidently wrong about")
    parser.add_argument("--show", action="store_true",
                        help="also draw what the network learned: first_layer.png (an MLP's first-layer weights "
                             "as 32x32 templates, a ConvNet's first filters, fastnet's whitening patches) and "
                             "saliency.png (input gradients of two test images per class)")
    add_reload_options(parser)
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from cifarlab.errors import CifarlabError
    from cifarlab.inference.reload import compare_with_saved, evaluate_run
    from cifarlab.rundir.files import read_json
    from cifarlab.training.run import format_table

    if args.misclassified < 0:
        raise CifarlabError(f"--misclassified takes a number of images >= 0, got {args.misclassified}")
    check_reload_options(args)
    evaluation = evaluate_run(args.run_dir, args.data, args.device, args.threads, analyse=True)
    metrics = evaluation.metrics
    print(format_table(metrics, f"{args.run_dir}: re-evaluated on {evaluation.evaluated_on} in "
                                f"{metrics['eval_seconds']:.1f} s"))
    write_analysis(args.run_dir, evaluation, args.misclassified)
    if args.show:  # from the evaluation's network and data: nothing read again
        from cifarlab.report.pictures import write_pictures

        print("written: " + ", ".join(map(str, write_pictures(
            args.run_dir, evaluation.learner, evaluation.raw_test_images,
            evaluation.test_inputs, evaluation.test_labels, evaluation.classes))))
    saved_path = args.run_dir / "metrics.json"
    if not saved_path.exists():
        print("no metrics.json to compare with (the run has not finished)")
        return 0
    agrees, sentence = compare_with_saved(read_json(saved_path), metrics, evaluation.trained_on,
                                          evaluation.evaluated_on)
    print(sentence)
    return 0 if agrees else 1


def write_analysis(run_dir: Path, evaluation, misclassified: int) -> None:
    """Per-class accuracy (printed, and CSV), the confusion matrix and the mistakes grid, as PNG
    files and in the run's TensorBoard log (drawn once for both)."""
    from cifarlab.rundir.analysis import per_class_table, write_test_analysis

    matrix, written = write_test_analysis(run_dir, evaluation.test_probabilities, evaluation.test_labels,
                                          evaluation.raw_test_images, evaluation.classes, misclassified)
    print(per_class_table(matrix, evaluation.classes))
    print("written: " + ", ".join(map(str, written)) + " (the pictures also in the run's TensorBoard log)")
