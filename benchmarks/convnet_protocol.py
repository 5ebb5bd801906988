"""Benchmark for issue 4: the study's ConvNet protocol, cifarlab vs a plain PyTorch loop.

The protocol: Adam lr 1e-4, 5000 steps of batch 32, evaluation every 500 steps on the
whole train (50,000) and test (10,000) sets.

    # side by side, interleaved, median of --repeats: train-step time and full-test-set evaluation
    python benchmarks/convnet_protocol.py components --data ../shared/data/cifar10-jpeg.tar.gz
    # the whole protocol with one variant (prints wall time, evaluation time, final metrics)
    python benchmarks/convnet_protocol.py full --variant plain --data ../shared/data/cifar10-jpeg.tar.gz

"plain" is the peer, what a straightforward script does: contiguous NCHW tensors,
model.eval() under torch.no_grad(), evaluation in batches of 100. "cifarlab" is the
library's own learner, built through the model registry as `cifarlab train convnet` builds
it (channels_last, torch.inference_mode(), evaluation batches of 100), stepped and evaluated
through its own methods; "cifarlab-bf16" the same under bf16 autocast (`--precision bf16`,
what `cifarlab reproduce --fast` would use). Data: the study's course pipeline.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from train_process import learner_for  # benchmarks/ is on the path when run as a script

from cifarlab.data import load_cifar10, prepare
from cifarlab.torch_nn.convnet import ConvNet
from cifarlab.training.runtime import Runtime

VARIANTS = ("plain", "cifarlab", "cifarlab-bf16")
LR = 1e-4


class PlainLoop:
    """The peer: a ConvNet, Adam, and the loop anyone would write."""

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.model = ConvNet()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR, betas=(0.9, 0.999))

    def train_step(self, x, y, lr):
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def evaluate(self, x, y, batch: int = 100):
        self.model.eval()
        correct, loss_sum = 0, 0.0
        with torch.no_grad():
            for start in range(0, len(y), batch):
                inputs, targets = torch.from_numpy(x[start:start + batch]), torch.from_numpy(y[start:start + batch])
                logits = self.model(inputs)
                loss_sum += F.cross_entropy(logits, targets, reduction="sum").item()
                correct += (logits.argmax(1) == targets).sum().item()
        return correct / len(y), loss_sum / len(y)


def make(variant: str, seed: int = 0):
    if variant == "plain":
        return PlainLoop(seed)
    precision = "bf16" if variant.endswith("bf16") else "fp32"
    return learner_for("convnet", Runtime(device="cpu", precision=precision), seed=seed)


def train_steps(learner, x, y, steps, rng):
    for _ in range(steps):
        idx = rng.integers(0, len(y), 32)
        learner.train_step(x[idx], y[idx], LR)


def components(data, repeats: int, steps: int):
    x, y = data.train.x, data.train.y
    tx, ty = data.test.x, data.test.y
    results = {v: {"step": [], "eval": []} for v in VARIANTS}
    learners = {v: make(v) for v in VARIANTS}
    for learner in learners.values():  # warm-up
        train_steps(learner, x, y, 3, np.random.default_rng(0))
        learner.evaluate(tx[:1000], ty[:1000])
    for _ in range(repeats):
        for variant, learner in learners.items():
            start = time.perf_counter()
            train_steps(learner, x, y, steps, np.random.default_rng(1))
            results[variant]["step"].append((time.perf_counter() - start) / steps)
            start = time.perf_counter()
            learner.evaluate(tx, ty)
            results[variant]["eval"].append(time.perf_counter() - start)
    for variant, r in results.items():
        step, ev = statistics.median(r["step"]), statistics.median(r["eval"])
        print(f"{variant:>9}: train step (batch 32) {step * 1000:.0f} ms, evaluation of 10,000 images {ev:.1f} s "
              f"({10000 / ev:.0f} images/s); median of {repeats}")
    for variant in VARIANTS[1:]:
        step = statistics.median(results["plain"]["step"]) / statistics.median(results[variant]["step"])
        ev = statistics.median(results["plain"]["eval"]) / statistics.median(results[variant]["eval"])
        print(f"speed-up of {variant} over plain: train step {step:.2f}x, evaluation {ev:.2f}x")


def full(data, variant: str, steps: int = 5000, every: int = 500):
    learner = make(variant)
    rng = np.random.default_rng(0)
    started, eval_seconds = time.perf_counter(), 0.0
    for done in range(every, steps + 1, every):
        train_steps(learner, data.train.x, data.train.y, every, rng)
        t = time.perf_counter()
        train = learner.evaluate(data.train.x, data.train.y)
        test = learner.evaluate(data.test.x, data.test.y)
        eval_seconds += time.perf_counter() - t
        print(f"{variant} step {done}: train {train[0]:.2%}/{train[1]:.3f} test {test[0]:.2%}/{test[1]:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    total = time.perf_counter() - started
    print(f"{variant}: whole protocol {total:.0f} s, of which evaluation {eval_seconds:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("components", "full"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--variant", choices=VARIANTS, nargs="+", default=["plain"],
                        help="full: variants run one after the other, in this order")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="train steps per timing (components)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = prepare(load_cifar10(args.data), "nchw", pipeline="course")
    if args.what == "components":
        components(data, args.repeats, args.steps)
    else:
        for variant in args.variant:
            full(data, variant)


if __name__ == "__main__":
    main()
