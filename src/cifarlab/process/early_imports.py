"""Import the modules a run needs only later while it loads its data.

A training command spends seconds importing modules it first touches after the data is
ready: torch._dynamo (PyTorch imports it when the first optimiser is built), TensorBoard's
writer and matplotlib (the curves at the end). Importing them on a background thread
overlaps that work with reading and standardising the data and starting the GPU: with it, the
whole `train fastnet --eval-every 0` took 7.95 s on an H200, against 8.86-9.84 s for the
original airbench94.py (benchmarks/RESULTS.md, "Fast ConvNet on a GPU"). The main thread's own
imports of these modules wait for the background one (Python's import locks), so nothing
changes but the time.
"""

from __future__ import annotations

import importlib
import threading

FOR_EVERY_RUN = ("tensorboard.summary.writer.event_file_writer", "matplotlib.figure", "matplotlib.backends.backend_agg")
FOR_TORCH_RUNS = ("torch._dynamo",)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the main thread's own import raises it where it matters
            continue


def import_in_background(names: tuple[str, ...]) -> threading.Thread:
    """Start importing `names`, in order, on a daemon thread (which never blocks exit)."""
    thread = threading.Thread(target=_import_all, args=(names,), name="early-imports", daemon=True)
    thread.start()
    return thread
