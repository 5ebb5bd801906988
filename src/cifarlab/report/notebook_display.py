"""Figures in Jupyter: `Run.plot()` shows its figure once, wherever it stands in a cell.

cifarlab draws on Figures of its own, not through pyplot, so scripts never open windows. In a
notebook such a Figure is shown only when it is a cell's last value, and only once IPython has
been told to draw figures as PNG. `show_once` displays it at once (so `run.plot(); run.metrics`
shows both) and marks it, so that when it is also the cell's value it is not drawn a second time.
"""

from __future__ import annotations

SHOWN = "_cifarlab_shown"


def show_once(figure) -> None:
    """In a Jupyter kernel: display `figure` now, and not again as the cell's value. Elsewhere:
    nothing."""
    from cifarlab.training.progress import in_notebook

    if not in_notebook():
        return
    from IPython import get_ipython
    from IPython.core.pylabtools import select_figure_formats
    from IPython.display import display
    from matplotlib.figure import Figure

    shell = get_ipython()
    png = shell.display_formatter.formatters["image/png"]
    if not getattr(png.type_printers.get(Figure), SHOWN, False):
        select_figure_formats(shell, {"png"})  # what %matplotlib inline sets up
        draw = png.lookup_by_type(Figure)

        def unless_shown(fig, draw=draw):
            return None if getattr(fig, SHOWN, False) else draw(fig)

        setattr(unless_shown, SHOWN, True)
        png.for_type(Figure, unless_shown)
    display(figure)
    setattr(figure, SHOWN, True)
