"""`cifarlab predict RUN_DIR IMAGE...`: top-3 classes for image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cifarlab.cli.reload_options import add_reload_options, add_run_dir, check_reload_options
from cifarlab.data.image_files import load_image_32


def register(commands) -> None:
    parser = commands.add_parser("predict", help="classify image files with a trained run",
                                 description="Print the top-3 classes with probabilities for each image. "
                                             "Images of any size are converted to RGB and resized to 32x32 "
                                             "(bicubic), as the models were trained on 32x32 images.")
    add_run_dir(parser)
    parser.add_argument("images", metavar="IMAGE", type=Path, nargs="+", help="image files Pillow can read")
    parser.add_argument("--top", type=int, default=3, help="how many classes to print (default: 3)")
    add_reload_options(parser)
    parser.set_defaults(handler=run_predict)


def run_predict(args) -> int:
    from cifarlab.inference.reload import predict_images

    check_reload_options(args)
    loaded = [load_image_32(path) for path in args.images]  # all checked before any work
    model, classes, probabilities = predict_images(args.run_dir, np.stack([pixels for pixels, _ in loaded]),
                                                   args.device, args.threads)
    top = max(1, min(args.top, len(classes)))
    for path, (_, (width, height)), probs in zip(args.images, loaded, probabilities):
        note = "" if (width, height) == (32, 32) else f", resized from {width}x{height} to 32x32"
        ranked = np.argsort(probs)[::-1][:top]
        print(f"{path} ({model}{note}): " + ", ".join(f"{classes[i]} {probs[i]:.1%}" for i in ranked))
    return 0
