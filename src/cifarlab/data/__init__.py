"""Data: sources -> cached uint8 arrays -> standardised float views -> batches."""

from cifarlab.data.preprocess import PreparedData, Split, prepare
from cifarlab.data.sources import CifarData
from cifarlab.data.store import load_cifar10

__all__ = ["CifarData", "PreparedData", "Split", "load_cifar10", "prepare"]
