"""Benchmark for issue 3: the NumPy MLP against PyTorch and scikit-learn on the same CPU.

1. Step time: the study's default network (3072-100-10, LeakyReLU 0.02), batch 200, plain
   SGD lr 2e-3, in our NumPy engine and in PyTorch, interleaved, median of several repeats.
2. The whole default run (`cifarlab train numpy-mlp`: 1500 steps + 15 evaluations).
3. Peer: scikit-learn's MLPClassifier, same hidden layer, batch, lr and number of passes.

    python benchmarks/numpy_mlp.py --data ../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from train_process import learner_for, train_once  # benchmarks/ is on the path when run as a script


def time_numpy_steps(x, y, steps, seed=0):
    """The library's own step: the learner `cifarlab train numpy-mlp` builds, with its defaults."""
    learner = learner_for("numpy-mlp", seed=seed)
    start = time.perf_counter()
    for step in range(steps):
        batch = slice((step * 200) % 49800, (step * 200) % 49800 + 200)
        learner.train_step(x[batch], y[batch], 2e-3)
    return (time.perf_counter() - start) / steps


def time_torch_steps(x, y, steps, seed=0):
    """The peer: a plain PyTorch loop over the same network, batch and optimiser."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3072, 100), torch.nn.LeakyReLU(0.02), torch.nn.Linear(100, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=2e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    for step in range(steps):
        batch = slice((step * 200) % 49800, (step * 200) % 49800 + 200)
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()

    import torch

    from cifarlab.data import load_cifar10, prepare

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, numpy {np.__version__}")
    data = prepare(load_cifar10(args.data), "flat")
    x, y = data.train.x, data.train.y
    time_numpy_steps(x, y, 20), time_torch_steps(x, y, 20)  # warm-up
    numpy_ms, torch_ms = [], []
    for _ in range(args.repeats):
        numpy_ms.append(1000 * time_numpy_steps(x, y, args.steps))
        torch_ms.append(1000 * time_torch_steps(x, y, args.steps))
    ratio = statistics.median(n / t for n, t in zip(numpy_ms, torch_ms))
    print(f"step time, median of {args.repeats}x{args.steps} steps: numpy {statistics.median(numpy_ms):.3f} ms, "
          f"torch {statistics.median(torch_ms):.3f} ms, numpy/torch ratio {ratio:.2f}")

    runs = []
    for repeat in range(3):
        wall, _, metrics = train_once(["numpy-mlp", "--data", args.data])
        runs.append((wall, metrics["train_seconds"], metrics["test_accuracy"], metrics["test_loss"]))
    print("default run (3 runs): wall incl. start-up and data load " + ", ".join(f"{r[0]:.1f}" for r in runs)
          + f" s; training loop incl. evaluations median {statistics.median(r[1] for r in runs):.1f} s; "
          f"test accuracy {runs[0][2]:.2%}, loss {runs[0][3]:.3f}")

    if args.skip_sklearn:
        return
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    passes = 1500 * 200 // len(y)  # the same number of passes over the data as the default run
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = []
    for repeat in range(3):
        peer = MLPClassifier(hidden_layer_sizes=(100,), solver="sgd", learning_rate_init=2e-3, batch_size=200,
                             momentum=0.0, alpha=0.0, max_iter=passes, random_state=repeat, tol=0.0)
        start = time.perf_counter()
        peer.fit(x, y)
        seconds = time.perf_counter() - start
        results.append((seconds, peer.score(data.test.x, data.test.y)))
    print(f"scikit-learn MLPClassifier (ReLU, SGD lr 2e-3, batch 200, {passes} passes), 3 seeds: "
          f"fit time median {statistics.median(r[0] for r in results):.1f} s, test accuracy "
          + ", ".join(f"{r[1]:.2%}" for r in results))


if __name__ == "__main__":
    main()
