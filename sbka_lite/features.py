"""One `Embedder`: a model plus its evaluation preprocessing, turning images into L2-normalised embeddings.

Evaluation (`extract_embeddings`; the unseen split's `embed_unseen` / `evaluate_unseen` in
`sbka_lite.unseen`) and photo search (`sbka_lite.search`) both embed through it, so a query, a gallery photo and a benchmark item see the
same pixels and the same network. It works for a trained `Student`, a `Teacher` or a plain timm
classifier (the "frozen" baseline): the embedding is always the L2-normalised pooled feature.
Images are decoded by `sbka_lite.data.decode`, resized to a square and normalised with the backbone's
statistics (`ImageTransform` without augmentation), batched, and run in eval mode without gradients
(the caller's train/eval mode is restored), channels_last, with AMP on GPUs.

`embed_files` is the one batching loop (decode in threads, embed in batches, one failure per
path); evaluation refuses a file that cannot be decoded (`ImageReadError`: it must not drop gallery
items silently), while search lists it as skipped.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, NamedTuple, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from .data.decode import decode_image
from .data.errors import ImageReadError
from .data.loading import ImageTransform
from .device import autocast
from .model_identity import ModelInfo, backbone_name, weights_key
from .models import Student, image_config, pooled_features


class ImageEmbedder(Protocol):
    """What `embed_files` needs: `Embedder`, or a test's counting fake."""

    def preprocess(self, image: Image.Image) -> Any: ...

    def embed_batch(self, prepared: Sequence[Any]) -> np.ndarray: ...


class EmbeddedFile(NamedTuple):
    """One input of `embed_files`: its position, its embedding, or why it has none."""

    position: int
    embedding: np.ndarray | None
    reason: str | None


class Embedder:
    """A model and the evaluation preprocessing it was trained with.

    Args:
        model: a `Student` (its ``embed`` skips both heads), a `Teacher`, a timm classifier, or a
            DistributedDataParallel wrapper of one.
        image_size: square input side; default the size the student was trained at
            (``student.input_size``), else the backbone's pretrained size.
        device: where to compute (the model is moved there); default where the model is.
        key: what identifies the weights in `info` (e.g. a checkpoint's hash); default a hash of
            the weights, taken when `info` is first read.
    """

    def __init__(self, model: nn.Module, *, image_size: int | None = None,
                 device: str | torch.device | None = None, channels_last: bool = True, key: str | None = None) -> None:
        module = getattr(model, "module", model)  # DistributedDataParallel
        if device is not None:
            module.to(torch.device(device))
        parameter = next(module.parameters(), None)
        self.device = parameter.device if parameter is not None else torch.device("cpu")
        self.model = module
        self.config = image_config(module)
        self.image_size = int(image_size or getattr(module, "input_size", None) or self.config.input_size)
        self.transform = ImageTransform(self.image_size, self.config.mean, self.config.std,
                                        interpolation=self.config.interpolation)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        backbone = getattr(module, "backbone", module)
        self.dim = int(getattr(module, "embedding_dim", 0) or backbone.num_features)
        self._features = module.embed if isinstance(module, Student) else (lambda images: pooled_features(backbone, images))
        self._key, self._info = key, None

    @property
    def info(self) -> ModelInfo:
        """Backbone, embedding size, input size, preprocessing and the weights' key."""
        if self._info is None:
            config = self.config
            self._info = ModelInfo(key=self._key or weights_key(self.model), backbone=backbone_name(self.model),
                                   dim=self.dim, image_size=self.image_size,
                                   preprocessing=f"mean={config.mean} std={config.std} {config.interpolation}")
        return self._info

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """A decoded RGB image -> the normalised float tensor [3, size, size] the model takes."""
        return self.transform(image)

    def embed_batch(self, prepared: Sequence[torch.Tensor] | torch.Tensor) -> np.ndarray:
        """L2-normalised embeddings float32 [len(prepared), dim] of preprocessed images."""
        batch = prepared if isinstance(prepared, torch.Tensor) else torch.stack(list(prepared))
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        was_training = self.model.training
        self.model.eval()  # BatchNorm statistics and dropout as at test time, whatever the caller's mode
        try:
            with torch.no_grad(), autocast(self.device):
                features = self._features(batch)
        finally:
            self.model.train(was_training)
        return F.normalize(features.float().flatten(1), dim=1).cpu().numpy()

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Embeddings of decoded images (PIL), in order."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_batch([self.preprocess(image) for image in images])

    def embed_paths(self, paths: Sequence[str], *, batch_size: int = 64, workers: int = 0, progress: bool = True,
                    max_pixels: int | None = None) -> tuple[np.ndarray, list[int], dict[str, str]]:
        """Embeddings of the files that decode, their positions in `paths`, and path -> reason for the rest."""
        rows, kept, failed = [], [], {}
        for item in embed_files(self, paths, batch_size=batch_size, workers=workers, progress=progress,
                                max_pixels=max_pixels):
            if item.embedding is None:
                failed[str(paths[item.position])] = item.reason
            else:
                rows.append(item.embedding)
                kept.append(item.position)
        matrix = np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)
        return matrix.astype(np.float32, copy=False), kept, failed


def _decode_and_prepare(embedder: ImageEmbedder, path: str, max_pixels: int | None) -> tuple[Any, str | None]:
    try:
        return embedder.preprocess(decode_image(path, max_pixels=max_pixels)), None
    except ImageReadError as error:
        return None, error.reason or str(error)


def embed_files(embedder: ImageEmbedder, paths: Sequence[Any], *, batch_size: int = 64, workers: int = 0,
                progress: bool = True, max_pixels: int | None = None, desc: str = "embedding") -> Iterator[EmbeddedFile]:
    """Yield an `EmbeddedFile` per path, in input order, batch by batch.

    Files are decoded (`decode_image`, refusing more than `max_pixels`) in `workers` threads (0:
    in this one) and embedded `batch_size` at a time. A file that does not decode yields its
    reason instead of an embedding; what the caller does with it is the caller's rule. Being a
    generator, an interrupted run keeps every batch already yielded.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    paths = [str(path) for path in paths]
    pool = ThreadPoolExecutor(workers) if workers > 0 else None
    mapper = pool.map if pool is not None else map
    bar = tqdm(total=len(paths), desc=desc, unit="image", disable=not progress or not paths, leave=False)
    try:
        for start in range(0, len(paths), batch_size):
            batch = paths[start:start + batch_size]
            prepared = list(mapper(lambda path: _decode_and_prepare(embedder, path, max_pixels), batch))
            good = [i for i, (item, _) in enumerate(prepared) if item is not None]
            matrix = embedder.embed_batch([prepared[i][0] for i in good]) if good else None
            if matrix is not None and len(matrix) != len(good):
                raise RuntimeError(f"the embedder returned {len(matrix)} embeddings for {len(good)} images")
            row = {i: r for r, i in enumerate(good)}
            for i in range(len(batch)):
                vector = np.asarray(matrix[row[i]], dtype=np.float32) if i in row else None
                yield EmbeddedFile(start + i, vector, None if i in row else prepared[i][1])
            bar.update(len(batch))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _paths(items_or_paths: Sequence[Any]) -> list[str]:
    return [str(item[0]) if isinstance(item, (tuple, list)) else str(item) for item in items_or_paths]


def extract_embeddings(
    model_or_student: nn.Module,
    items_or_paths: Sequence[Any],
    *,
    batch_size: int = 64,
    image_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    num_workers: int = 0,
    channels_last: bool = True,
) -> np.ndarray:
    """L2-normalised embeddings [n, d] float32 of images, in input order (through one `Embedder`).

    Args:
        model_or_student: a `Student`, `Teacher`, timm classifier, or a DDP wrapper of one.
        items_or_paths: image paths, or ``(path, class name)`` pairs as `Benchmark.items` gives.
        image_size: square input side; default the student's training size, else the backbone's.
        device: where to compute (the model is moved there); default where the model is.
        num_workers: threads decoding images (0: decode in this thread).

    Raises:
        ImageReadError: naming the first file that cannot be decoded (nothing is dropped silently).
    """
    embedder = Embedder(model_or_student, image_size=image_size, device=device, channels_last=channels_last)
    paths = _paths(items_or_paths)
    rows = []
    for item in embed_files(embedder, paths, batch_size=batch_size, workers=num_workers, progress=progress):
        if item.embedding is None:
            raise ImageReadError(paths[item.position], item.reason)
        rows.append(item.embedding)
    return np.stack(rows) if rows else np.zeros((0, embedder.dim), dtype=np.float32)
