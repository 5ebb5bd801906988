"""`cifarlab data info|prepare`: inspect and cache the data set."""

from __future__ import annotations

import time

import numpy as np

DATA_HELP = ("CIFAR-10 source: cifar-10-python.tar.gz, a cifar-10-batches-py/ directory, or an image "
             "folder (directory or .tar.gz) with train/<class>/ and test/<class>/; default: "
             "$CIFARLAB_DATA, else the official archive in $CIFARLAB_HOME (downloaded when missing)")


def register(commands) -> None:
    parser = commands.add_parser("data", help="inspect and cache the CIFAR-10 data set",
                                 description="Inspect and cache the CIFAR-10 data set.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="print source, counts per split and class, channel mean/std")
    prepare = actions.add_parser("prepare", help="decode the source once and cache the arrays")
    for sub in (info, prepare):
        sub.add_argument("--data", metavar="PATH", help=DATA_HELP)
    info.set_defaults(handler=run_info)
    prepare.set_defaults(handler=run_prepare)


def run_prepare(args) -> int:
    from cifarlab.data.store import cache_path, load_cifar10, resolve_source

    start = time.perf_counter()
    data = load_cifar10(args.data, must_cache=True)
    print(f"cached {len(data.train_labels)} train and {len(data.test_labels)} test images from {data.source}")
    print(f"cache: {cache_path(resolve_source(args.data))} ({time.perf_counter() - start:.2f} s)")
    return 0


def run_info(args) -> int:
    from cifarlab.data.preprocess import channel_stats
    from cifarlab.data.store import load_cifar10

    data = load_cifar10(args.data)
    print(f"source: {data.source}")
    print(f"train: {len(data.train_labels)} images, test: {len(data.test_labels)} images, "
          f"shape {tuple(data.train_images.shape[1:])}, {len(data.classes)} classes")
    train_counts = np.bincount(data.train_labels, minlength=len(data.classes))
    test_counts = np.bincount(data.test_labels, minlength=len(data.classes))
    print(f"{'label':>5}  {'class':<12}{'train':>7}{'test':>7}")
    for label, name in enumerate(data.classes):
        print(f"{label:>5}  {name:<12}{train_counts[label]:>7}{test_counts[label]:>7}")
    mean, std = channel_stats(data.train_images)
    print("train channel mean (R,G,B): " + ", ".join(f"{v:.4f}" for v in mean))
    print("train channel std  (R,G,B): " + ", ".join(f"{v:.4f}" for v in std))
    return 0
