"""What a training run shows while it runs: a redrawn progress bar in a terminal, and a
plain line per evaluation where output goes to a file or CI (a log full of carriage-return
redraws is unreadable)."""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, total: int, done: int, enabled: bool = True, speaks: bool = True, stream=None):
        """`enabled`: show progress; `speaks`: this process prints messages (rank 0)."""
        self.stream = stream or sys.stderr
        self.enabled, self.speaks, self.total = enabled, speaks, total
        self.bar = None
        # a terminal redraws the bar; so does a notebook
        if enabled and (self.stream.isatty() or in_notebook()):
            self.bar = bar_class()(total=total, initial=done, desc="training", unit="step", dynamic_ncols=True,
                            file=self.stream)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def evaluation(self, step: int, loss: float, metrics: dict, seconds: float) -> None:
        accuracies = {split: f"{accuracy:.1%}" for split, (accuracy, _) in metrics.items()}
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3f}", **accuracies)
        elif self.enabled:
            splits = ", ".join(f"{split} {value}" for split, value in accuracies.items())
            self.write(f"step {step}/{self.total}: loss {loss:.3f}, {splits} ({seconds:.1f} s)")

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        elif self.speaks:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (not merely one that has imported ipykernel)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    return type(get_ipython()).__name__ == "ZMQInteractiveShell"


def bar_class():
    """tqdm's widget in a notebook that has ipywidgets; its text bar elsewhere (Jupyter redraws
    it too, where tqdm.auto would warn that the widget is missing)."""
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            pass
        else:
            from tqdm.notebook import tqdm

            return tqdm
    from tqdm import tqdm

    return tqdm
