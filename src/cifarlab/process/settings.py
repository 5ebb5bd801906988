"""The one owner of what a run changes for the whole process: torch's CPU thread count, the
global random generators (Python's, NumPy's, torch's) and glibc's memory reuse. `run_settings`
sets them for a run's length and puts back what the process had before, so a notebook or a
sweep that trains many times keeps its own settings between runs."""

from __future__ import annotations

import random
import sys
from contextlib import contextmanager

import numpy as np

from cifarlab.process.memory_reuse import freed_memory_kept


@contextmanager
def torch_threads(threads: int):
    """torch's CPU thread count set to `threads` inside the block (0: left as it is), and the
    previous count restored after."""
    if not threads:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def seeded_generators(seed: int, with_torch: bool = True):
    """Python's, NumPy's and (`with_torch`) torch's global generators seeded with `seed` inside the
    block (dropout masks draw from torch's; models and augmentation get their own seeded
    generators), and their earlier states restored after. The NumPy engine does not load torch
    at all: it would cost about 200 MB."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    torch = None
    if with_torch or sys.modules.get("torch") is not None:  # (None: torch was blocked)
        import torch
        torch_state = torch.random.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if with_torch:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if torch is not None:
            torch.random.set_rng_state(torch_state)


@contextmanager
def run_settings(seed: int, threads: int = 0, with_torch: bool = True, keep_freed_memory: bool = False):
    """Everything process-wide that one run sets, for the length of the `with` block."""
    with torch_threads(threads), seeded_generators(seed, with_torch), freed_memory_kept(keep_freed_memory):
        yield
