"""Data-parallel training over the processes `torchrun` starts (torch.distributed).

Every rank draws the same global batch and the same augmentation (same seed), then
trains on its own slice of it; DistributedDataParallel averages the gradients, so a run
on N processes follows a single-process run with the same global batch (up to float
rounding, and except for dropout masks and batch-norm statistics, which are per rank).
Evaluation shards the data and sums the results; only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from cifarlab.errors import CifarlabError

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1 or dist.is_initialized()

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of range(n); parts differ in size by at most one."""
        return slice(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.active:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values


SINGLE = ProcessGroup()


def join(use_cuda: bool) -> ProcessGroup:
    """Join the group torchrun set up (gloo on CPU, nccl on CUDA)."""
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise CifarlabError("--distributed needs the processes torchrun starts: "
                            "torchrun --nproc-per-node N -m cifarlab train MODEL --distributed ...")
    local_rank = int(os.environ["LOCAL_RANK"])
    if use_cuda and local_rank >= torch.cuda.device_count():
        raise CifarlabError(f"process {local_rank} of this machine has no GPU of its own (torch sees "
                            f"{torch.cuda.device_count()}): start at most that many per machine, or add --device cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), local_rank)


def leave(wait_for_others: bool = True) -> None:
    """Tear down the group. After a normal end, first wait until every rank is here (rank 0
    is still writing files when the others finish): without that wait, a non-main rank of
    the 2-process test aborted (SIGABRT) in 2 of 5 full test-suite runs. After an error, do
    not wait: the other ranks may never arrive."""
    if not dist.is_initialized():
        return
    if wait_for_others:
        dist.barrier()
    dist.destroy_process_group()
