"""Keep the memory one training step frees for the next step, instead of handing it back.

A training step allocates and frees the same large buffers every time: activations and their
gradients of up to 66 MB for a micro-batch. glibc's malloc serves every block above its mmap
threshold (at most 32 MB) with a fresh mmap and returns it with munmap when freed, and trims
the heap's free top; the next step then faults the same amount back in, page by page, and the
kernel zeroes every page again. On the Intel Xeon with AMX-BF16 of benchmarks/RESULTS.md
(`benchmarks/step_ab.py --change memory-reuse`, 3 rounds) a cpu-peer step faulted 0.75-1.3 million
pages; with mmap off and the heap never trimmed, 0.15 million, and the step took 0.91x the time
at the same peak memory.

glibc only (Linux); elsewhere (musl, macOS, Windows) this changes nothing. It sets process-wide
malloc parameters, so a training run on a CPU sets them for its own length (`freed_memory_kept`,
through process/settings.py's `run_settings`), not the library on import: a notebook that trains once does not keep a run's
memory, nor the setting, afterwards.
"""

from __future__ import annotations

import ctypes
import os
import platform
from contextlib import contextmanager

# mallopt's parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes (an int): a free top below 2 GiB stays
# glibc's own defaults for the two (DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD in its malloc.c)
DEFAULT_MMAP_MAX = 65536
DEFAULT_TRIM_THRESHOLD = 128 * 1024


def _glibc():
    """The C library, where it is glibc (which has mallopt and malloc_trim); else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes, libc.mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to serve large blocks from its heap and never shrink it; returns
    whether it did (False where the C library is not glibc)."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))


def starting_values() -> tuple[int, int]:
    """(mmap_max, trim_threshold) as this process was started with them: from GLIBC_TUNABLES
    (or glibc's older MALLOC_MMAP_MAX_ / MALLOC_TRIM_THRESHOLD_), else glibc's defaults."""
    tunables = dict(item.split("=", 1) for item in os.environ.get("GLIBC_TUNABLES", "").split(":") if "=" in item)
    mmap_max = tunables.get("glibc.malloc.mmap_max", os.environ.get("MALLOC_MMAP_MAX_", str(DEFAULT_MMAP_MAX)))
    trim = tunables.get("glibc.malloc.trim_threshold",
                        os.environ.get("MALLOC_TRIM_THRESHOLD_", str(DEFAULT_TRIM_THRESHOLD)))
    try:
        return min(int(mmap_max, 0), NEVER_TRIM), min(int(trim, 0), NEVER_TRIM)  # mallopt takes an int
    except ValueError:  # not a number glibc would take either: it keeps its defaults
        return DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD


def give_back_freed_memory() -> bool:
    """Undo `keep_freed_memory`: the limits this process started with again (`starting_values`)
    and, unless those keep memory too, the heap's free memory handed back to the kernel now. (One
    difference stays: once set by hand, glibc stops adapting its mmap threshold to the blocks
    freed.) Returns whether it did (False where not glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    mmap_max, trim_threshold = starting_values()
    restored = bool(libc.mallopt(M_MMAP_MAX, mmap_max)) and bool(libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))
    if trim_threshold < NEVER_TRIM:
        libc.malloc_trim(0)
    return restored


@contextmanager
def freed_memory_kept(wanted: bool = True):
    """`keep_freed_memory` for the length of a `with` block (if `wanted`), then `give_back_freed_memory`.
    Yields whether the memory is kept."""
    kept = wanted and keep_freed_memory()
    try:
        yield kept
    finally:
        if kept:
            give_back_freed_memory()
