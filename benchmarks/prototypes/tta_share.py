"""Prototype: test-time views only for the least confident test images, by share. Usage:
python benchmarks/prototypes/tta_share.py RUN_DIR... (benchmarks/RESULTS.md)"""
import sys
import time

import torch

from cifarlab.train.torch_learner import least_confident
from saved_runs import saved_runs

for run, learner, prepared in saved_runs(sys.argv[1:]):
    x, y = prepared.test.x, torch.from_numpy(prepared.test.y)
    with torch.inference_mode():
        started = time.perf_counter()
        full = learner._logits_in_batches(x, learner._predict)
        t_full = time.perf_counter() - started
        started = time.perf_counter()
        plain = learner._logits_in_batches(x, learner._plain)
        t_plain = time.perf_counter() - started

    def accuracy(logits):
        return (logits.argmax(1) == y).float().mean().item() * 100

    out = [f"{run}: full6={accuracy(full):.2f} ({t_full:.1f}s) plain={accuracy(plain):.2f} ({t_plain:.1f}s)"]
    for share in (0.1, 0.2, 0.3, 0.5):
        unsure = least_confident(plain, share)
        mixed = plain.clone()
        mixed[unsure] = full[unsure]
        out.append(f"q{share}={accuracy(mixed):.2f}")
    print(" ".join(out), flush=True)
