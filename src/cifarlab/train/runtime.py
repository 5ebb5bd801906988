"""Where a run executes, as opposed to what it is: decided on the machine that runs the command.

The recipe (model, data, optimiser, schedule, augmentation, seed) is the model's config and
is saved with the run and reloaded; the runtime is recorded in config.json for reference,
but `evaluate`, `predict` and `train --resume` choose their own (`--device`, `--threads`), so a
run trained on a GPU or under torchrun can be evaluated anywhere. Importing this module
needs no torch: the NumPy engine has no runtime.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cifarlab.train.configs import option

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
                                    "bf16) or fp16 (CUDA); auto: bf16 on CUDA, fp32 on CPU", PRECISIONS)
    compile: bool = option(False, "torch.compile the model (CUDA: with --precision fp32 only; the first steps "
                                  "are slow)")

    def __post_init__(self):
        if self.threads < 0:
            raise ValueError(f"--threads must not be negative, got {self.threads}")


RUNTIME_FIELDS = tuple(f.name for f in dataclasses.fields(Runtime))


def runtime_from_dict(values: dict) -> Runtime:
    """The runtime saved in a run record (older runs kept these fields in the config)."""
    return Runtime(**{k: values[k] for k in RUNTIME_FIELDS if k in values})


def for_reloading(saved: Runtime, **chosen) -> Runtime:
    """The runtime to reload a saved run with: its precision (a forward pass in the precision
    it was trained with reproduces its metrics), everything else chosen here, and never
    distributed unless asked. fp16 exists on CUDA only, so elsewhere it falls back to fp32."""
    runtime = Runtime(precision=saved.precision, compile=saved.compile, **chosen)
    if runtime.precision == "fp16":
        import torch

        if runtime.device == "cpu" or not torch.cuda.is_available():
            runtime = dataclasses.replace(runtime, precision="fp32")
    return runtime


def apply_threads(threads: int) -> None:
    """Set torch's CPU threads once per process (0: leave torch's default). Called by the CLI."""
    if threads:
        import torch

        torch.set_num_threads(threads)
