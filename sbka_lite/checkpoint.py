"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors and plain python values (the config as a dict, class names as
strings), so loading one never executes code from the file. A half-written file never replaces
a good one: we write a temporary file in the same folder and `os.replace` it into place.
"""
from __future__ import annotations

import errno
import os
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from sbka_lite.data.loading import BadImageLog
from sbka_lite.models import Student
from sbka_lite.paths import atomic_write

FORMAT = "sbka-lite-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable sbka-lite checkpoint, or one that does not fit what is asked."""


def _tensors(value: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _tensors(item, f"{prefix}[{index}]")


def non_finite_tensors(state: dict[str, Any]) -> list[str]:
    """Where `state` holds NaN or inf in a floating-point tensor (dotted key paths)."""
    return [name for name, tensor in _tensors(state)
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]


def _disk_full(error: BaseException) -> bool:
    # torch.save reports a full disk as a RuntimeError from its zip writer, not as ENOSPC.
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or (
        isinstance(error, RuntimeError) and ("unexpected pos" in str(error) or "file write failed" in str(error)))


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` (plus format tags) to `path` atomically; returns the path.

    Raises:
        FloatingPointError: the state holds NaN/inf (nothing is written: a poisoned checkpoint
            would be resumed from).
        OSError: no space left on the device (the previous file at `path` is intact).
    """
    path = Path(path)
    poisoned = non_finite_tensors(state)
    if poisoned:
        raise FloatingPointError(
            f"not writing {path}: {len(poisoned)} tensors hold NaN or inf (e.g. {', '.join(poisoned[:3])}); "
            "the previous checkpoint is intact. Try a lower lr or amp=False")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **state}
    try:
        with atomic_write(path) as stream:
            torch.save(payload, stream)
    except (OSError, RuntimeError) as error:
        if _disk_full(error):
            raise OSError(errno.ENOSPC, f"no space left on device writing {path}; the previous checkpoint is intact "
                                        "(free some space and run again: training resumes from it)") from error
        raise
    return path


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the ``.<name>.*.tmp`` files a killed write leaves behind (atomic_write's temporaries)."""
    stale = sorted(Path(folder).glob(".*.pt.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _check_integrity(path: Path) -> None:
    """Refuse a checkpoint whose bytes changed after it was written: torch.load does not check the
    CRC-32 its zip format stores for every tensor, so a flipped byte would load as a wrong weight."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except zipfile.BadZipFile:
        return  # not a zip at all: torch.load says what it is
    except (OSError, EOFError, ValueError) as error:  # a header or directory entry is damaged
        damaged = f"its zip directory ({type(error).__name__}: {error})"
    if damaged:
        raise CheckpointError(
            f"{path} is damaged: {damaged} fails its CRC-32 check (bytes changed on disk or in a copy after it was "
            "written), so its weights cannot be trusted. Copy it again from where it came, use another checkpoint "
            "(last.pt / best.pt), or move it aside and train again")


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (weights only: no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (python -m sbka_lite.train) or check the path")
    _check_integrity(path)
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


def _check_expected(path, state: dict, backbone: str | None, embedding_dim: int | None) -> None:
    if backbone is not None and backbone != state["backbone"]:
        raise CheckpointError(
            f"{path} holds a {state['backbone']!r} student, but {backbone!r} was expected; "
            "use a checkpoint trained with that backbone (or rebuild what depends on it)"
        )
    if embedding_dim is not None and int(embedding_dim) != int(state["embedding_dim"]):
        raise CheckpointError(
            f"{path} gives {state['embedding_dim']}-d embeddings, but {embedding_dim}-d were expected "
            f"(backbone {state['backbone']!r}); use a matching checkpoint"
        )


def student_record(student: Student, seen_classes: list[str]) -> dict[str, Any]:
    """The student's part of a checkpoint: what `load_student` rebuilds it from (written and read here only)."""
    return {
        "student": student.state_dict(),
        "backbone": student.backbone_name,
        "embedding_dim": student.embedding_dim,
        "teacher_classes": student.imagenet_head.out_features,  # 1000, or the photo world's
        "seen_classes": list(seen_classes),
        "image_size": student.input_size,
    }


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
    state = load_checkpoint(checkpoint_path)
    for key in ("student", "backbone", "embedding_dim", "seen_classes"):
        if key not in state:
            raise CheckpointError(f"{checkpoint_path} has no {key!r}: not a student checkpoint")
    _check_expected(checkpoint_path, state, backbone, embedding_dim)
    student = Student(state["backbone"], len(state["seen_classes"]), pretrained=False)
    if int(state.get("teacher_classes", 1000)) != student.imagenet_head.out_features:
        student.backbone.reset_classifier(int(state["teacher_classes"]))  # a photo-world start (sbka_lite.pretrain)
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


# Log columns renamed since older checkpoints were written (the Gaussian term was "loss_align").
RENAMED_LOG_COLUMNS = {"loss_align": "loss_gaussian"}


def _upgrade_rows(rows: list[dict]) -> list[dict]:
    return [{RENAMED_LOG_COLUMNS.get(key, key): value for key, value in row.items()} for row in rows]


@dataclass
class RunState:
    """Where a training run stands; saved into and restored from ``last.pt`` (and ``best.pt``)."""

    epoch: int = 0  # the epoch to run next (or being run)
    step_in_epoch: int = 0  # steps of `epoch` already done
    global_step: int = 0
    history: list[dict] = field(default_factory=list)
    epoch_rows: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"val_acc": None, "epoch": None})
    bad_log: BadImageLog = field(default_factory=BadImageLog)

    @classmethod
    def from_checkpoint(cls, state: dict | None, max_fraction: float) -> "RunState":
        bad_log = BadImageLog(max_fraction=max_fraction)
        if state is None:
            return cls(bad_log=bad_log)
        saved = state["bad_log"]
        bad_log.seen, bad_log.failed, bad_log.bad = int(saved["seen"]), int(saved["failed"]), list(saved["bad"])
        return cls(int(state["epoch"]), int(state["step_in_epoch"]), int(state["step"]), _upgrade_rows(state["history"]),
                   _upgrade_rows(state["epoch_rows"]), dict(state["best"]), bad_log)

    def as_checkpoint(self) -> dict:
        log = self.bad_log
        return {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "step": self.global_step,
                "history": self.history, "epoch_rows": self.epoch_rows, "best": self.best,
                "best_val_acc": self.best["val_acc"],
                "bad_log": {"seen": log.seen, "failed": log.failed, "bad": list(log.bad)}}


def best_record_on_disk(best_path: str | os.PathLike) -> dict:
    """The selection record that ``best.pt`` itself holds (``{"val_acc", "epoch", ...}``; Nones when absent).

    ``last.pt`` also records the best epoch, but a kill between the two writes can leave them
    apart; what ``best.pt`` holds is what a user will load, so that is the truth on resume.
    """
    path = Path(best_path)
    if not path.is_file():
        return {"val_acc": None, "epoch": None}
    try:
        state = load_checkpoint(path)
    except CheckpointError:
        return {"val_acc": None, "epoch": None}
    return {"val_acc": None, "epoch": None, **state.get("best", {})}
