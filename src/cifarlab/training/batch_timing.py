"""`--eval-batch-size 0`: the evaluation batch size that runs fastest on this machine.

Which size is fastest depends on the CPU, the precision and the network: on a 2-core AMD EPYC
with native bf16, fastnet evaluated 250 images per pass about 30 % faster than 500; on one
without (fp32), 100 to 1000 were within 5 % of each other. Results do not depend on it (batch
norm evaluates with its running statistics), so it is timed once per machine, torch version
and network, and the answer is kept in the cache directory.

The training micro-batch is not chosen this way: batch norm takes its statistics over each
micro-batch, so its size is part of the recipe, not only of its speed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cifarlab.training.runtime import cpu_model_and_generation

CANDIDATES = (100, 250, 500, 1000)
TIMINGS_FILE = "eval-batch-timings.json"


@dataclass(frozen=True)
class EvalBatchChoice:
    size: int
    ms_per_image: dict[int, float]  # candidate -> milliseconds per image, as timed
    cached: bool  # read from the cache rather than timed now

    def describe(self) -> str:
        timings = "/".join(f"{self.ms_per_image[size]:.2f}" for size in sorted(self.ms_per_image))
        sizes = "/".join(str(size) for size in sorted(self.ms_per_image))
        when = "timed earlier on this machine" if self.cached else "timed now, remembered"
        return (f"evaluation batch {self.size}: the fastest of {sizes} images per pass "
                f"({timings} ms per image; {when})")


def timing_key(learner) -> str:
    """What the fastest size depends on: the machine, torch, threads, precision, memory layout
    and the network's shape (its printed form)."""
    device = torch.cuda.get_device_name(learner.device) if learner.device.type == "cuda" else cpu_model_and_generation()
    network = hashlib.sha1(repr(learner.model).encode()).hexdigest()[:12]
    return (f"{device} | torch {torch.__version__} | {torch.get_num_threads()} threads | "
            f"{learner.autocast_dtype} | {learner.memory_format} | network {network}")


def time_eval_batches(learner, x: np.ndarray, candidates=CANDIDATES) -> dict[int, float]:
    """Milliseconds per image of the plain forward pass at each batch size, on images `x`
    (repeated to the largest size); each size is run once to warm up, then timed once."""
    largest = max(candidates)
    images = x[np.arange(largest) % len(x)]
    learner.model.eval()
    timings = {}
    with torch.no_grad():
        for size in candidates:
            inputs = learner.to_device(images[:size])
            learner.plain_logits(inputs)  # oneDNN prepares its kernels for this shape
            started = time.perf_counter()
            learner.plain_logits(inputs)
            if learner.device.type == "cuda":
                torch.cuda.synchronize(learner.device)
            timings[size] = (time.perf_counter() - started) / size * 1e3
    return timings


def choose_eval_batch(learner, x: np.ndarray, cache_dir: Path) -> EvalBatchChoice:
    """The fastest candidate for this learner, from the cache file in `cache_dir` or timed now
    and added to it."""
    from cifarlab.rundir.files import atomic_write_json

    path, key = cache_dir / TIMINGS_FILE, timing_key(learner)
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}  # none yet, or unreadable: time again and rewrite it
    known = known if isinstance(known, dict) else {}
    if key in known:
        timings = {int(size): ms for size, ms in known[key].items()}
        return EvalBatchChoice(min(timings, key=timings.get), timings, cached=True)
    timings = time_eval_batches(learner, x)
    atomic_write_json(path, {**known, key: timings})
    return EvalBatchChoice(min(timings, key=timings.get), timings, cached=False)
