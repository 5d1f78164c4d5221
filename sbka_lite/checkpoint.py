"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors and plain python values (the config as a dict, class names as
strings), so loading one never executes code from the file. A half-written file never replaces
a good one: we write a temporary file in the same folder and `os.replace` it into place.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sbka_lite.paths import atomic_write

FORMAT = "sbka-lite-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable sbka-lite checkpoint, or one that does not fit what is asked."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` (plus format tags) to `path` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **state}
    with atomic_write(path) as stream:
        torch.save(payload, stream)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (weights only: no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (python -m sbka_lite.train) or check the path")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # unpickling errors come in several types
        raise CheckpointError(
            f"{path} is not a readable sbka-lite checkpoint ({type(error).__name__}: {error}); "
            "it may be truncated or saved by other code"
        ) from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an sbka-lite checkpoint (no '{FORMAT}' tag)")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} has checkpoint version {state['version']}; this sbka-lite reads up to {VERSION}: upgrade")
    return state


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch generator states as plain values (weights_only-safe)."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned (CUDA states only where CUDA is present)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_student(
    checkpoint_path: str | os.PathLike,
    device: str | torch.device | None = None,
    *,
    backbone: str | None = None,
    embedding_dim: int | None = None,
):
    """Rebuild the trained student of a checkpoint, in eval mode.

    Args:
        checkpoint_path: a ``best.pt`` / ``last.pt`` written by `sbka_lite.train`.
        device: where to put the model (default CPU).
        backbone, embedding_dim: what the caller expects (e.g. a search index built with one
            backbone); a checkpoint of another backbone or embedding size raises `CheckpointError`.

    Returns:
        ``(student, meta)``; meta has ``backbone``, ``embedding_dim``, ``seen_classes``,
        ``image_size``, ``config``, ``epoch``, ``step``, ``best_val_acc`` and ``path``.
        ``student.input_size`` is the image size it was trained at.
    """
    from .models import Student

    state = load_checkpoint(checkpoint_path)
    for key in ("student", "backbone", "embedding_dim", "seen_classes"):
        if key not in state:
            raise CheckpointError(f"{checkpoint_path} has no {key!r}: not a student checkpoint")
    if backbone is not None and backbone != state["backbone"]:
        raise CheckpointError(
            f"{checkpoint_path} holds a {state['backbone']!r} student, but {backbone!r} was expected; "
            "use a checkpoint trained with that backbone (or rebuild what depends on it)"
        )
    if embedding_dim is not None and int(embedding_dim) != int(state["embedding_dim"]):
        raise CheckpointError(
            f"{checkpoint_path} gives {state['embedding_dim']}-d embeddings, but {embedding_dim}-d were expected "
            f"(backbone {state['backbone']!r}); use a matching checkpoint"
        )
    student = Student(state["backbone"], len(state["seen_classes"]), pretrained=False)
    if student.embedding_dim != int(state["embedding_dim"]):
        raise CheckpointError(
            f"{checkpoint_path}: backbone {state['backbone']!r} builds {student.embedding_dim}-d features here, "
            f"the checkpoint says {state['embedding_dim']}; timm version mismatch?"
        )
    try:
        student.load_state_dict(state["student"], strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{checkpoint_path}: student weights do not fit {state['backbone']!r}: {error}") from error
    config = state.get("config", {})
    image_size = int(state.get("image_size") or 0) or None
    student.input_size = image_size
    student.eval()
    if device is not None:
        student.to(torch.device(device))
    meta = {
        "backbone": state["backbone"],
        "embedding_dim": int(state["embedding_dim"]),
        "seen_classes": list(state["seen_classes"]),
        "image_size": image_size,
        "config": config,
        "epoch": state.get("epoch"),
        "step": state.get("step"),
        "best_val_acc": state.get("best_val_acc"),
        "path": str(Path(checkpoint_path)),
    }
    return student, meta
