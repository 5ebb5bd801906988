"""`cifarlab export RUN_DIR --onnx FILE`: a torch run's model as ONNX, checked with onnxruntime."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP
from cifarlab.cli.reload_options import add_run_dir


DESCRIPTION = ("Write the model of RUN_DIR (mlp, convnet or fastnet; fastnet as one plain view, without test-time "
               "augmentation) as ONNX: prepared images float32 (N, 3, 32, 32) -> logits. Then run it with "
               "onnxruntime on the test set and compare with cifarlab's float32 logits (exit status 1 below 99.9 % "
               "top-1 agreement or beyond 1e-3). Needs pip install '.[export]'.")


def register(commands) -> None:
    parser = commands.add_parser("export", help="write a torch run's model as an ONNX file", description=DESCRIPTION)
    add_run_dir(parser)
    parser.add_argument("--onnx", metavar="FILE", type=Path, required=True, help="the ONNX file to write")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP + "; default: the run's own source")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with onnxruntime")
    parser.set_defaults(handler=run_export)


def run_export(args) -> int:
    from cifarlab.inference.onnx_export import check_onnx, export_onnx
    from cifarlab.inference.reload import load_run
    from cifarlab.training.run import load_prepared

    model, record = export_onnx(args.run_dir, args.onnx)
    print(f"written: {args.onnx} (inputs: prepared images, pipeline {record['normalization']['pipeline']}; "
          "its statistics are in the file's metadata)")
    if args.no_check:
        return 0
    name, cfg, _ = load_run(args.run_dir)
    prepared, _ = load_prepared(name, cfg, args.data or record["data_source"], progress=False)
    check = check_onnx(args.onnx, model, prepared.test.x)
    print(f"onnxruntime on {check.images} test images: top-1 agrees on {check.top1_agreement:.2%}, logits within "
          f"{check.max_logit_difference:.1e} of cifarlab's (float32)")
    return 0 if check.top1_agreement >= 0.999 and check.max_logit_difference <= 1e-3 else 1
