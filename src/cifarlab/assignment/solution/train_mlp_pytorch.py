"""Train the PyTorch MLP of mlp_pytorch.py on CIFAR-10.

Defaults are the study's: one hidden layer of 100 units, LeakyReLU slope 0.02, SGD with
learning rate 2e-3, 1500 steps of 200 images, an evaluation every 100 steps (the study's
best run: --dnn_hidden_units 500,500,500 --learning_rate 3e-3 --batch_size 250 --optimizer adam).
Curves go to OUT/curves.npz and the final figures to OUT/results.json.
"""

import argparse

import numpy as np
import torch

from mlp_pytorch import MLP
from torch_training import add_common_flags, run_training


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dnn_hidden_units", default="100", help="hidden sizes, comma-separated (default: 100)")
    parser.add_argument("--neg_slope", type=float, default=0.02, help="LeakyReLU slope (default: 0.02)")
    add_common_flags(parser, 2e-3, 1500, 200, 100, "sgd", "results/mlp_pytorch")
    flags = parser.parse_args(argv)
    torch.manual_seed(flags.seed)
    np.random.seed(flags.seed)
    hidden = [int(size) for size in flags.dnn_hidden_units.split(",") if size]
    return run_training(MLP(3072, hidden, 10, flags.neg_slope), flags, flatten=True)


if __name__ == "__main__":
    main()
