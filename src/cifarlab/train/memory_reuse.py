"""Keep the memory one training step frees for the next step, instead of handing it back.

A training step allocates and frees the same large buffers every time: activations and their
gradients of 8 to 66 MB for a micro-batch. glibc's malloc serves every block above its mmap
threshold (at most 32 MB) with a fresh mmap and returns it with munmap when freed, and trims
the heap's free top; the next step then faults the same amount back in, page by page, and the
kernel zeroes every page again. On the Intel Xeon with AMX-BF16 measured in benchmarks/RESULTS.md
that cost is large and varies: 1.0-1.5 million page faults and 2.6-3.1 s of system time per
12 steps of cpu-peer. With mmap off and the heap never trimmed, the freed blocks stay in the
process and are reused: the step took 0.87x the time, for 3 % more peak memory.

glibc only (Linux); elsewhere (musl, macOS, Windows) this changes nothing. It sets process-wide
malloc parameters, so the training command calls it, not the library on import.
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
