"""torchrun / DistributedDataParallel helpers: who this process is, and the few collectives the
trainer needs. A single process is a world of size one, so callers never branch on it."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    initialized_here: bool = False  # this process group was created by us (so we tear it down)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.active:
            dist.all_reduce(tensor)
        return tensor

    def average_gradients(self, parameters) -> None:
        """Mean of each gradient over ranks (for modules that DDP does not wrap: the teacher's head)."""
        if self.active:
            for parameter in parameters:
                if parameter.grad is not None:
                    dist.all_reduce(parameter.grad)
                    parameter.grad.div_(self.world_size)

    def broadcast_buffers(self, module: torch.nn.Module) -> None:
        """Rank 0's buffers (BatchNorm statistics) to every rank."""
        if self.active:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def init_distributed(device: torch.device) -> DistContext:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on GPUs, gloo on CPUs)."""
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), False)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), True)


def destroy(context: DistContext) -> None:
    if context.initialized_here:
        dist.destroy_process_group()
