"""Train the ConvNet of convnet_pytorch.py on CIFAR-10.

Defaults are the study's run: Adam with learning rate 1e-4, 5000 steps of 32 images, an
evaluation on the whole test set every 500 steps (slow on a CPU: try --max_steps 500 first).
Curves go to OUT/curves.npz and the final figures to OUT/results.json.
"""

import argparse

import numpy as np
import torch

from convnet_pytorch import ConvNet
from torch_training import add_common_flags, run_training


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(parser, 1e-4, 5000, 32, 500, "adam", "results/convnet_pytorch")
    flags = parser.parse_args(argv)
    torch.manual_seed(flags.seed)
    np.random.seed(flags.seed)
    return run_training(ConvNet(3, 10), flags, flatten=False)


if __name__ == "__main__":
    main()
