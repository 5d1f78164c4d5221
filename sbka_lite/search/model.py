"""The model side of a search: what `SketchSearch` needs from an embedder, and the real one to load.

The real one is `sbka_lite.features.Embedder`, the embedder evaluation uses; tests inject a
counting fake that satisfies `SearchEmbedder`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from sbka_lite.checkpoint import CheckpointError, load_student
from sbka_lite.device import get_device
from sbka_lite.features import Embedder, ImageEmbedder
from sbka_lite.model_identity import ModelInfo
from sbka_lite.config import DEFAULT_BACKBONE
from sbka_lite.models import Student

from .cache import file_sha256
from .errors import ModelMismatchError, SearchError


class SearchEmbedder(ImageEmbedder, Protocol):
    """`preprocess` (one decoded image, called from worker threads) and `embed_batch` (float32
    [len(batch), info.dim], L2-normalised), plus the `info` that keys the cache."""

    info: ModelInfo


def _checkpoint_student(checkpoint: str | Path, backbone: str | None) -> tuple[Student, str, int | None]:
    checkpoint = Path(checkpoint).expanduser()
    if not checkpoint.is_file():
        raise SearchError(f"checkpoint not found: {checkpoint}")
    try:
        student, meta = load_student(checkpoint)
    except CheckpointError as error:
        raise SearchError(str(error)) from error
    name = str(meta["backbone"])
    if backbone is not None and backbone != name:
        raise ModelMismatchError(f"checkpoint {checkpoint} holds a {name} student, but backbone "
                                 f"{backbone!r} was asked for: drop --backbone or pass another checkpoint")
    return student, file_sha256(checkpoint), meta.get("image_size")  # the size it was trained at


def load_embedder(checkpoint: str | Path | None = None, *, backbone: str | None = None,
                  image_size: int | None = None, device: torch.device | str | None = None,
                  pretrained: bool = True) -> Embedder:
    """The embedding model for a search: a trainer checkpoint's student, or the pretrained backbone.

    With a checkpoint, its own backbone, embedding size and image size are used, and the cache
    is keyed by the file's content hash; passing a different `backbone` raises
    `ModelMismatchError` naming both. Without one, a `Student` around `backbone` (default
    EfficientNet-Lite0) with its pretrained weights: the same embedding the trainer starts from.
    `image_size` overrides the input size (smaller is faster, e.g. for tests). `device`: default
    the GPU when there is one.
    """
    if checkpoint is not None:
        student, key, trained_size = _checkpoint_student(checkpoint, backbone)
        size = image_size or trained_size
    else:
        name = backbone or DEFAULT_BACKBONE
        student = Student(name, num_seen_classes=1, pretrained=pretrained)
        key = f"pretrained:{name}" if pretrained else f"random-init:{name}"
        size = image_size
    student.eval()
    return Embedder(student, image_size=size, device=get_device(str(device) if device is not None else None), key=key)
