"""Prototype, not product code (benchmarks/RESULTS.md, fifth session): skip the easiest
training images in later epochs.

Epochs < FULL train on every image. From then on each epoch trains on KEEP x N images:
every image skipped in the previous epoch, topped up with the highest-loss images (loss
recorded when last trained on) of those trained on in the previous epoch. Alternating
flips follow each image's own view count. Usage:
  KEEP=0.6 FULL=2 EPOCHS=8 python benchmarks/prototypes/skip_easy.py train fastnet --preset cpu-peer --seed 1 ...
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import cifarlab.train.loop as loop
from cifarlab.data.augment import random_crop
from cifarlab.data.batches import chunks
from cifarlab.train.torch_learner import TorchLearner

KEEP, FULL, EPOCHS = float(os.environ["KEEP"]), int(os.environ["FULL"]), int(os.environ["EPOCHS"])
STATE = {}


class SelectiveSchedule:
    def __init__(self, n, batch_size, seed):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.losses = np.full(n, np.inf)
        self.views = np.zeros(n, dtype=np.int64)
        self.seen_last = np.ones(n, dtype=bool)
        self.epoch, self.position, self.order = -1, 0, None
        STATE["schedule"] = self

    def _next_epoch(self):
        self.epoch += 1
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.epoch < FULL:
            chosen = np.arange(self.n)
        else:
            keep = int(KEEP * self.n) // self.batch_size * self.batch_size
            forced = np.flatnonzero(~self.seen_last)
            candidates = np.flatnonzero(self.seen_last)
            extra = keep - len(forced)
            hardest = candidates[np.argsort(-self.losses[candidates], kind="stable")[:extra]]
            chosen = np.concatenate([forced, hardest])
        self.seen_last = np.zeros(self.n, dtype=bool)
        self.seen_last[chosen] = True
        self.order = rng.permutation(chosen)
        self.position = 0
        print(f"[skip] epoch {self.epoch}: {len(self.order)} images", file=sys.stderr)

    def __call__(self, step):
        if self.order is None or self.position + self.batch_size > len(self.order):
            self._next_epoch()
        batch = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        STATE["batch"] = batch
        return batch


def steps_total(n=50000, batch=1000):
    per_full = n // batch
    per_kept = int(KEEP * n) // batch
    return FULL * per_full + (EPOCHS - FULL) * per_kept


def _augment(self, inputs):
    recipe = self.recipe
    size = recipe.small_crop if self.step < recipe.small_crop_steps else None
    schedule, batch = STATE["schedule"], STATE["batch"]
    odd = torch.from_numpy(schedule.views[batch] % 2 == 1)
    schedule.views[batch] += 1
    inputs = torch.where(odd[:, None, None, None], inputs.flip(-1), inputs)
    return random_crop(inputs, recipe.augment_padding, self.augment_generator, size)


def _accumulate_gradients(self, inputs, targets):
    size = self.recipe.micro_batch_size or len(targets)
    parts = list(chunks(len(targets), size))
    total = torch.zeros((), dtype=torch.float64)
    batch = STATE["batch"]
    losses = STATE["schedule"].losses
    for part in parts:
        with self._autocast():
            each = F.cross_entropy(self.forward(inputs[part]).float(), targets[part],
                                   label_smoothing=self.recipe.label_smoothing, reduction="none")
        loss = each.mean()
        share = (part.stop - part.start) / len(targets)
        (loss * share).backward()
        losses[batch[part]] = each.detach().numpy()
        total += loss.detach().double() * share
    return total


loop.BatchSchedule = SelectiveSchedule
TorchLearner._augment = _augment
TorchLearner._accumulate_gradients = _accumulate_gradients

if __name__ == "__main__":
    from cifarlab.cli.main import main

    steps = steps_total()
    print(f"[skip] KEEP={KEEP} FULL={FULL} EPOCHS={EPOCHS}: {steps} steps", file=sys.stderr)
    sys.exit(main(sys.argv[1:] + ["--steps", str(steps)]))
