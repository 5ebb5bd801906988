"""Benchmark for issue 4: the study's ConvNet protocol, cifarlab vs a plain PyTorch loop.

The protocol: Adam lr 1e-4, 5000 steps of batch 32, evaluation every 500 steps on the
whole train (50,000) and test (10,000) sets.

    # side by side, interleaved, median of --repeats: train-step time and full-test-set evaluation
    python benchmarks/convnet_protocol.py components --data ../shared/data/cifar10-jpeg.tar.gz
    # the whole protocol with one variant (prints wall time, evaluation time, final metrics)
    python benchmarks/convnet_protocol.py full --variant plain --data ../shared/data/cifar10-jpeg.tar.gz

"plain" is what a straightforward script does: contiguous NCHW tensors, model.eval()
under torch.no_grad(), evaluation in batches of 100. "cifarlab" is the trainer's path:
channels_last, torch.inference_mode(), evaluation batches of 100 (1000 measured slower).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from cifarlab.data import load_cifar10, prepare
from cifarlab.torch_nn.convnet import ConvNet

VARIANTS = {"plain": {"channels_last": False, "eval_batch": 100, "inference_mode": False},
            "cifarlab": {"channels_last": True, "eval_batch": 100, "inference_mode": True}}


def make(variant: str, seed: int = 0):
    torch.manual_seed(seed)
    fmt = torch.channels_last if VARIANTS[variant]["channels_last"] else torch.contiguous_format
    model = ConvNet().to(memory_format=fmt)
    return model, torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999)), fmt


def train_steps(model, optimizer, fmt, x, y, steps, start, rng):
    model.train()
    for _ in range(steps):
        idx = rng.integers(0, len(y), 32)
        inputs = torch.from_numpy(x[idx]).contiguous(memory_format=fmt)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(inputs), torch.from_numpy(y[idx])).backward()
        optimizer.step()


def evaluate(model, fmt, x, y, variant):
    settings = VARIANTS[variant]
    context = torch.inference_mode() if settings["inference_mode"] else torch.no_grad()
    model.eval()
    correct, loss_sum = 0, 0.0
    with context:
        for start in range(0, len(y), settings["eval_batch"]):
            inputs = torch.from_numpy(x[start:start + settings["eval_batch"]]).contiguous(memory_format=fmt)
            targets = torch.from_numpy(y[start:start + settings["eval_batch"]])
            logits = model(inputs)
            loss_sum += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(1) == targets).sum().item()
    return correct / len(y), loss_sum / len(y)


def components(data, repeats: int, steps: int):
    x, y = data.train.x, data.train.y
    tx, ty = data.test.x, data.test.y
    results = {v: {"step": [], "eval": []} for v in VARIANTS}
    models = {v: make(v) for v in VARIANTS}
    for variant, (model, optimizer, fmt) in models.items():  # warm-up
        train_steps(model, optimizer, fmt, x, y, 3, 0, np.random.default_rng(0))
        evaluate(model, fmt, tx[:1000], ty[:1000], variant)
    for _ in range(repeats):
        for variant, (model, optimizer, fmt) in models.items():
            start = time.perf_counter()
            train_steps(model, optimizer, fmt, x, y, steps, 0, np.random.default_rng(1))
            results[variant]["step"].append((time.perf_counter() - start) / steps)
            start = time.perf_counter()
            evaluate(model, fmt, tx, ty, variant)
            results[variant]["eval"].append(time.perf_counter() - start)
    for variant, r in results.items():
        step, ev = statistics.median(r["step"]), statistics.median(r["eval"])
        print(f"{variant:>9}: train step (batch 32) {step * 1000:.0f} ms, evaluation of 10,000 images {ev:.1f} s "
              f"({10000 / ev:.0f} images/s); median of {repeats}")
    ratio = statistics.median(results["plain"]["eval"]) / statistics.median(results["cifarlab"]["eval"])
    print(f"evaluation speed-up of cifarlab over plain: {ratio:.2f}x")


def full(data, variant: str, steps: int = 5000, every: int = 500):
    model, optimizer, fmt = make(variant)
    rng = np.random.default_rng(0)
    started, eval_seconds = time.perf_counter(), 0.0
    for done in range(every, steps + 1, every):
        train_steps(model, optimizer, fmt, data.train.x, data.train.y, every, done, rng)
        t = time.perf_counter()
        train = evaluate(model, fmt, data.train.x, data.train.y, variant)
        test = evaluate(model, fmt, data.test.x, data.test.y, variant)
        eval_seconds += time.perf_counter() - t
        print(f"{variant} step {done}: train {train[0]:.2%}/{train[1]:.3f} test {test[0]:.2%}/{test[1]:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    total = time.perf_counter() - started
    print(f"{variant}: whole protocol {total:.0f} s, of which evaluation {eval_seconds:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("components", "full"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="plain")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="train steps per timing (components)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = prepare(load_cifar10(args.data), "nchw")
    if args.what == "components":
        components(data, args.repeats, args.steps)
    else:
        full(data, args.variant)


if __name__ == "__main__":
    main()
