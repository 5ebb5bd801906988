"""cifarlab: deep learning on CIFAR-10, from a hand-derived NumPy MLP to a fast ConvNet.

From Python (cifarlab/api.py): `cifarlab.train(model, data=None, out=None, **options) -> Run`,
`cifarlab.load(run_dir) -> Run`, `cifarlab.load_data(data=None)`; a mistake raises
`cifarlab.CifarlabError`. Each imports what it needs
when called, so `import cifarlab` stays instant.
"""

from cifarlab._version import __version__
from cifarlab.errors import CifarlabError

__all__ = ["CifarlabError", "Run", "load", "load_data", "train"]


def train(model: str, data: str | None = None, out=None, **options):
    """Train `model` as `cifarlab train MODEL` does; options are named as the flags. -> Run"""
    from cifarlab.api import train as train_model

    return train_model(model, data, out, **options)


def load(run_dir):
    """The run in `run_dir` (a Run: .config, .metrics, .history, .plot(), .predict(), ...)."""
    from cifarlab.api import load as load_run

    return load_run(run_dir)


def load_data(data: str | None = None):
    """CIFAR-10 as uint8 arrays and class names, the source chosen as for --data."""
    from cifarlab.api import load_data as load_arrays

    return load_arrays(data)


def __getattr__(name: str):
    if name == "Run":
        from cifarlab.api import Run

        return Run
    raise AttributeError(f"module 'cifarlab' has no attribute {name!r}")
