"""process/memory_reuse.py: after keep_freed_memory, glibc serves large blocks from its heap and
keeps them when freed, and after give_back_freed_memory maps them again and hands the heap's free
memory back (checked in a child process: the setting is process-wide)."""

import os
import platform
import subprocess
import sys

import pytest

from cifarlab.cli.main import main

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the setting exists for glibc's malloc only")

# Allocates and frees 64 MiB with malloc, then prints how many bytes glibc's mallinfo2 saw
# mmapped while the block lived, and how many the heap held free after it was freed.
CHILD = """
import ctypes, sys
from cifarlab.process.memory_reuse import freed_memory_kept, keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print("no mallinfo2"); sys.exit(0)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)


def block_mapped_and_kept():  # malloc and free 64 MiB: was it mmapped, and does the heap hold it free after?
    block = libc.malloc(64 << 20)
    mapped = libc.mallinfo2().hblkhd >= 64 << 20
    libc.free(block)
    return mapped, libc.mallinfo2().fordblks >= 64 << 20


if sys.argv[1] == "scoped":  # inside the block, then after it
    with freed_memory_kept() as kept:
        inside = block_mapped_and_kept()
    print(kept, *inside, *block_mapped_and_kept())
else:
    applied = keep_freed_memory() if sys.argv[1] == "keep" else False
    print(applied, *block_mapped_and_kept())
"""


def child_reports(mode: str, environment: dict | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True,
                          env={**os.environ, **(environment or {})})
    if done.stdout.strip() == "no mallinfo2":
        pytest.skip("this glibc has no mallinfo2 (before 2.33) to look with")
    return done.stdout.split()


def test_a_large_block_is_mapped_and_returned_by_default():
    assert child_reports("default") == ["False", "True", "False"]


def test_after_keep_freed_memory_it_comes_from_the_heap_and_stays_there():
    assert child_reports("keep") == ["True", "False", "True"]


def test_freed_memory_kept_keeps_it_inside_and_gives_it_back_after():
    assert child_reports("scoped") == ["True", "False", "True", "True", "False"]


def test_after_the_block_a_process_started_keeping_memory_still_keeps_it():
    tuned = {"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"}
    assert child_reports("default", tuned) == ["False", "False", "True"]  # the setting works from the start
    assert child_reports("scoped", tuned) == ["True", "False", "True", "False", "True"]


@pytest.mark.parametrize("flag, applied", [(None, True), ("--no-reuse-memory", False)])
def test_a_cpu_run_applies_it_unless_told_not_to_and_undoes_it_after(flag, applied, learnable_folder, tmp_path,
                                                                      monkeypatch):
    import json

    from cifarlab.process import memory_reuse

    calls = []
    monkeypatch.setattr(memory_reuse, "keep_freed_memory", lambda: calls.append("keep") or True)
    monkeypatch.setattr(memory_reuse, "give_back_freed_memory", lambda: calls.append("give back") or True)
    options = ["--pipeline", "standardize", "--hidden", "16", "--steps", "4", "--batch-size", "20",
               "--train-eval-size", "0", "--device", "cpu", "--quiet", *([flag] if flag else [])]
    assert main(["train", "mlp", "--data", str(learnable_folder), "--out", str(tmp_path / "run"), *options]) == 0
    assert calls == (["keep", "give back"] if applied else [])
    assert json.loads((tmp_path / "run" / "config.json").read_text())["runtime"]["reuse_memory"] is applied
