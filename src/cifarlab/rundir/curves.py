"""Learning-curve figures: accuracy and loss panels, train vs test, over steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cifarlab.rundir.files import History, atomic_write_bytes
from cifarlab.rundir.logs import StepLog


def smoothed(values: list[float], points: int = 60) -> np.ndarray:
    """An exponential moving average whose memory is about len(values) / points steps, so a
    curve of any length shows its trend rather than each batch's noise."""
    alpha = min(1.0, points / max(len(values), 1))
    out, average = np.empty(len(values)), values[0] if values else 0.0
    for index, value in enumerate(values):
        average = alpha * value + (1 - alpha) * average
        out[index] = average
    return out


def plot_histories(histories: dict[str, History], path: Path, title: str = "",
                   step_logs: dict[str, StepLog] | None = None) -> Path:
    """Write `curves_figure` as a PNG."""
    import io

    buffer = io.BytesIO()
    curves_figure(histories, title, step_logs).savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def curves_figure(histories: dict[str, History], title: str = "", step_logs: dict[str, StepLog] | None = None):
    """One figure with an accuracy and a loss panel; each run draws its evaluations, train
    (dashed) and test (solid), with markers, and, where its step log is given, the per-step
    training loss (smoothed, thin) on the loss panel: a run evaluated once still shows a curve."""
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no display needed

    figure = Figure(figsize=(11, 4.2))
    accuracy_axis, loss_axis = figure.subplots(1, 2, sharex=True)
    for index, (label, history) in enumerate(histories.items()):
        color = f"C{index}"
        prefix = f"{label} " if len(histories) > 1 else ""
        steps = (step_logs or {}).get(label)
        if steps is not None and steps.step:
            loss_axis.plot(steps.step, smoothed(steps.loss), "-", color=color, alpha=0.45, linewidth=1,
                           label=f"{prefix}train, per step (smoothed)")
        for axis, metric in ((accuracy_axis, "accuracy"), (loss_axis, "loss")):
            scale = 100.0 if metric == "accuracy" else 1.0
            for split, style in (("train", "--"), ("test", "-"), ("val", ":")):
                values = getattr(history, f"{split}_{metric}")
                if values:
                    name = "validation" if split == "val" else split
                    axis.plot(history.step, [v * scale for v in values], style, marker="o", markersize=3,
                              color=color, label=f"{prefix}{name}")
    accuracy_axis.set(xlabel="step", ylabel="accuracy (%)", title="Accuracy")
    loss_axis.set(xlabel="step", ylabel="cross-entropy", title="Loss")
    for axis in (accuracy_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
