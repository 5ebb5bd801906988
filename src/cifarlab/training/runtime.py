"""Where a run executes, as opposed to what it is: decided on the machine that runs the command.

The recipe (model, data, optimiser, schedule, augmentation, seed) is the model's config and
is saved with the run and reloaded; the runtime is recorded in config.json for reference,
but `evaluate`, `predict` and `train --resume` choose their own (`--device`, `--threads`), so a
run trained on a GPU or under torchrun can be evaluated anywhere. Importing this module
needs no torch: the NumPy engine has no runtime.
"""

from __future__ import annotations

import dataclasses
import functools
import platform
from dataclasses import dataclass
from pathlib import Path

from cifarlab.errors import CifarlabError
from cifarlab.training.configs import option

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Runtime:
    """Where a torch run executes: chosen on the machine that runs the command, not saved as
    part of the recipe (evaluate, predict and train --resume choose their own)."""

    device: str = option("auto", "device: cuda when available with auto", ("auto", "cpu", "cuda"))
    threads: int = option(0, "CPU threads for torch (0: torch's default)")
    distributed: bool = option(False, "data-parallel over the processes torchrun starts (gloo on CPU, nccl on "
                                      "CUDA); --batch-size is then the global batch")
    precision: str = option("fp32", "autocast precision of the forward pass: bf16 (CUDA, or a CPU with native "
                                    "bf16) or fp16 (CUDA); auto: bf16 on CUDA and on a CPU that computes bf16 "
                                    "natively (AVX512-BF16, AMX, ARM's BF16), fp32 elsewhere (detected at start; "
                                    "the run records what it chose)", PRECISIONS)
    compile: bool = option(False, "torch.compile the model (CUDA: with --precision fp32 only; the first steps "
                                  "are slow)")
    reuse_memory: bool = option(True, "on a CPU under glibc, keep the memory a step frees for the next step "
                                      "instead of returning it to the OS and faulting it in again "
                                      "(process/memory_reuse.py: 0.91x the step time on an Intel Xeon)")

    def __post_init__(self):
        if self.threads < 0:
            raise ValueError(f"--threads must not be negative, got {self.threads}")


RUNTIME_FIELDS = tuple(f.name for f in dataclasses.fields(Runtime))


def runtime_from_dict(values: dict) -> Runtime:
    """The runtime saved in a run record (older runs kept these fields in the config)."""
    return Runtime(**{k: values[k] for k in RUNTIME_FIELDS if k in values})


def cpu_has_native_bf16(cpuinfo: str, machine: str) -> bool:
    """Whether a CPU computes bf16 natively, from the text of /proc/cpuinfo and the machine
    type (platform.machine()): x86 with AVX512-BF16 or AMX-BF16, ARM with the BF16 extension.
    Elsewhere bf16 autocast is emulated, and slower than float32."""
    words = set(cpuinfo.split())
    if machine.lower() in ("x86_64", "amd64"):
        return bool({"avx512_bf16", "amx_bf16"} & words)
    if machine.lower() in ("aarch64", "arm64"):
        return "bf16" in words
    return False


@functools.cache
def cpuinfo() -> str:
    """/proc/cpuinfo of this machine, read once ('' where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def native_bf16() -> bool:
    """`cpu_has_native_bf16` for the CPU running this process (False where it cannot tell)."""
    return cpu_has_native_bf16(cpuinfo(), platform.machine())


def cpu_model() -> str:
    """The processor's model name ("AMD EPYC 7B13"), else what platform can tell."""
    for line in cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_model_and_generation() -> str:
    """`cpu_model` with its x86 family and model numbers ("Intel(R) Xeon(R) Processor (family 6,
    model 167)"): the name alone can hide processors of different generations."""
    pairs = (line.split(":", 1) for line in cpuinfo().splitlines()[:30] if ":" in line)
    fields = {name.strip(): value.strip() for name, value in pairs}
    return f"{cpu_model()} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def resolved_precision(precision: str, device_type: str) -> str:
    """--precision as it runs on `device_type` ('cpu' or 'cuda'): auto becomes bf16 or fp32."""
    if precision != "auto":
        return precision
    return "bf16" if device_type == "cuda" or native_bf16() else "fp32"


def auto_as_saved(device_type: str) -> str:
    """What --precision auto meant in runs saved before runs recorded their choice: bf16 on
    CUDA, fp32 on any CPU."""
    return "bf16" if device_type == "cuda" else "fp32"


def for_reloading(saved: Runtime, **chosen) -> Runtime:
    """The runtime to reload a saved run with: its precision (a forward pass in the precision
    it was trained with reproduces its metrics), everything else chosen here, and never
    distributed unless asked. fp16 exists on CUDA only, so elsewhere it falls back to fp32.
    Runs record the precision they chose; "auto" comes from runs saved before they did, when it
    meant bf16 on CUDA and fp32 on any CPU, and is read that way."""
    runtime = Runtime(precision=saved.precision, compile=saved.compile, **chosen)
    if runtime.precision not in ("fp16", "auto"):
        return runtime
    import torch

    on_cuda = runtime.device != "cpu" and torch.cuda.is_available()
    if runtime.precision == "fp16":
        return dataclasses.replace(runtime, precision="fp16" if on_cuda else "fp32")
    return dataclasses.replace(runtime, precision=auto_as_saved("cuda" if on_cuda else "cpu"))


def pick_device(name: str) -> str:
    """'auto', 'cpu' or 'cuda' -> the device type to use."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise CifarlabError("--device cuda was asked for, but torch sees no CUDA device: use --device cpu")
    return name
