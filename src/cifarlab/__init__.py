"""cifarlab: deep learning on CIFAR-10, from a hand-derived NumPy MLP to a fast ConvNet."""

__version__ = "0.1.0"
