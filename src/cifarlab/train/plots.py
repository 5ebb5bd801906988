"""Learning-curve figures: accuracy and loss panels, train vs test, over steps."""

from __future__ import annotations

from pathlib import Path

from cifarlab.train.rundir import History, atomic_write_bytes


def plot_histories(histories: dict[str, History], path: Path, title: str = "") -> Path:
    """One figure with an accuracy and a loss panel; each run draws train (dashed) and test (solid)."""
    import io

    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no display needed

    figure = Figure(figsize=(11, 4.2))
    accuracy_axis, loss_axis = figure.subplots(1, 2)
    for index, (label, history) in enumerate(histories.items()):
        color = f"C{index}"
        prefix = f"{label} " if len(histories) > 1 else ""
        for axis, metric in ((accuracy_axis, "accuracy"), (loss_axis, "loss")):
            scale = 100.0 if metric == "accuracy" else 1.0
            axis.plot(history.step, [v * scale for v in getattr(history, f"train_{metric}")], "--", color=color,
                      label=f"{prefix}train")
            axis.plot(history.step, [v * scale for v in getattr(history, f"test_{metric}")], "-", color=color,
                      label=f"{prefix}test")
            if getattr(history, f"val_{metric}"):
                axis.plot(history.step, [v * scale for v in getattr(history, f"val_{metric}")], ":", color=color,
                          label=f"{prefix}validation")
    accuracy_axis.set(xlabel="step", ylabel="accuracy (%)", title="Accuracy")
    loss_axis.set(xlabel="step", ylabel="cross-entropy", title="Loss")
    for axis in (accuracy_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
    return path
