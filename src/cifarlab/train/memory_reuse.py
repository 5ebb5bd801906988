"""Keep the memory one training step frees for the next step, instead of handing it back.

A training step allocates and frees the same large buffers every time: activations and their
gradients of up to 66 MB for a micro-batch. glibc's malloc serves every block above its mmap
threshold (at most 32 MB) with a fresh mmap and returns it with munmap when freed, and trims
the heap's free top; the next step then faults the same amount back in, page by page, and the
kernel zeroes every page again. On the Intel Xeon with AMX-BF16 of benchmarks/RESULTS.md
(`benchmarks/step_ab.py --change memory-reuse`, 3 rounds) a process timing 12 cpu-peer steps faulted 0.75-1.3
million pages in 1.3-2.4 s of system time; with mmap off and the heap never trimmed, 0.15 million
in 0.3-0.4 s, the step took 0.91x the time (cpu85: 0.91x too), and the peak memory was the same.

glibc only (Linux); elsewhere (musl, macOS, Windows) this changes nothing. It sets process-wide
malloc parameters, so a training run on a CPU calls it (train/run.py), not the library on import.
"""

from __future__ import annotations

import ctypes
import platform

# mallopt's parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int): a free top below 2 GiB stays


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to serve large blocks from its heap and never shrink it; returns
    whether it did (False where the C library is not glibc)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
