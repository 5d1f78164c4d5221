"""Device, seeding and mixed-precision helpers: the one place that decides where tensors live.

Every module asks `get_device()` instead of calling `.cuda()`, so the same code runs on a
laptop CPU, one GPU or one rank of a `torchrun` job.
"""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device to compute on.

    Order: the explicit `prefer` ("cpu", "cuda", "cuda:1", "mps"), then the environment
    variable ``SBKA_DEVICE``, then CUDA when available, then CPU. Under ``torchrun`` a bare
    "cuda" means this process's ``LOCAL_RANK`` GPU.
    """
    choice = prefer or os.environ.get("SBKA_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(choice)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} was asked for but CUDA is not available; use 'cpu' or unset SBKA_DEVICE")
        if device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device 'mps' was asked for but MPS is not available; use 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def amp_dtype(device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for `device`: bf16 on GPUs that support it, fp16 on older GPUs, None on CPU.

    CPU autocast is left off: on the 2-core machines this project targets it is slower than fp32.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def needs_grad_scaler(device: torch.device | str) -> bool:
    """fp16 needs loss scaling to avoid underflowing gradients; bf16 and fp32 do not."""
    return amp_dtype(device) == torch.float16


def autocast(device: torch.device | str, enabled: bool = True):
    """Mixed-precision context for `device`; a no-op where `amp_dtype` is None or disabled."""
    device = torch.device(device)
    dtype = amp_dtype(device)
    if not enabled or dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
