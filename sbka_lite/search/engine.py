"""`SketchSearch`: a folder of photos, embedded once and cached, that one sketch can query.

Opening a folder scans it (`photos.scan_photos`), reuses the cached embeddings of unchanged
files, embeds new and changed ones through `sbka_lite.features.embed_files` (the evaluation
embedder's loop) and remembers what could not be read. A query ranks the gallery exactly with
`sbka_lite.distances.exact_topk`, approximately with FAISS, or with the fitted cluster matcher.

A photo whose embedding is degenerate (all zeros, as a blank or solid-colour image can give, or
non-finite) is set aside: listed with its reason in `SketchSearch.set_aside`, counted in the
summary, and left out of the ranking, where it would sit at the same distance from every sketch
and crowd the top of unrelated queries.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch

from sbka_lite.features import embed_files
from sbka_lite.model_identity import ModelInfo
from sbka_lite.distances import exact_topk, squared_norms
from sbka_lite.retrieval import ClusterMatcher

from .cache import EmbeddingCache, check_cache_path, default_cache_path
from .errors import CacheUnusable, ModelMismatchError, SearchCacheWarning, SearchError
from .index import FaissIndex
from .model import SearchEmbedder, load_embedder
from .photos import MAX_PHOTO_PIXELS, FileStamp, scan_photos
from .sketch import sketch_to_image

MIN_PHOTOS_FOR_CLUSTERS = 6
# Embeddings are L2-normalised (norm 1); one below this norm carries no direction to rank by.
DEGENERATE_NORM = 1e-6


def degenerate_reason(vector: np.ndarray) -> str | None:
    """Why an embedding cannot be ranked (non-finite or all zeros), or None when it can."""
    if not np.isfinite(vector).all():
        return "embedding is not finite (NaN or inf from the model)"
    if float(np.linalg.norm(vector)) < DEGENERATE_NORM:
        return "embedding is all zeros (blank or solid-colour image?)"
    return None


class SearchHit(NamedTuple):
    """One ranked photo: its path and its distance to the sketch (lower is closer)."""

    path: Path
    distance: float


class SkippedPhoto(NamedTuple):
    """A file left out of the search, with the reason: one that looked like a photo but could not
    be read (a broken file, a looping or broken link, one above `MAX_PHOTO_PIXELS`), or one set
    aside for a degenerate embedding."""

    path: Path
    reason: str


@dataclass
class UpdateReport:
    """What opening (or refreshing) the folder did."""

    photos: int = 0
    reused: int = 0
    embedded_new: int = 0
    embedded_changed: int = 0
    removed: int = 0
    skipped: list[SkippedPhoto] = field(default_factory=list)
    set_aside: list[SkippedPhoto] = field(default_factory=list)
    rebuilt_because: str | None = None

    def summary(self) -> str:
        text = (f"{self.photos} photos searchable: {self.reused} from cache, {self.embedded_new} new, "
                f"{self.embedded_changed} changed, {self.removed} removed")
        if self.skipped:
            text += f"; {len(self.skipped)} unreadable skipped (see .skipped)"
        if self.set_aside:
            text += f"; {len(self.set_aside)} set aside, not ranked: degenerate embedding (see .set_aside)"
        return text


class SketchSearch:
    """A folder of photos, embedded and cached, that one sketch can query.

    Parameters
    ----------
    photos: the folder (searched recursively).
    subfolders: only these folders inside `photos` (e.g. a benchmark's unseen classes).
    checkpoint: a trainer checkpoint; None uses the pretrained `backbone` alone.
    backbone, image_size, device: passed to `load_embedder` (ignored when `embedder` is given).
    cache: True (default location under ``outputs/search-cache``), a file path, or False (no disk cache).
    rebuild: re-embed everything, even over a cache built by another backbone.
    embedder: any `SearchEmbedder`, e.g. a `sbka_lite.features.Embedder` around your own model
        (tests inject fakes).
    max_pixels: photos larger than this are decoded reduced (JPEG) or skipped (see `MAX_PHOTO_PIXELS`).
    """

    def __init__(self, photos: str | Path, checkpoint: str | Path | None = None, *,
                 backbone: str | None = None, image_size: int | None = None,
                 device: torch.device | str | None = None, cache: bool | str | Path = True,
                 rebuild: bool = False, batch_size: int = 64, workers: int | None = None,
                 embedder: SearchEmbedder | None = None, progress: bool = True,
                 subfolders: Sequence[str] | None = None, max_pixels: int | None = MAX_PHOTO_PIXELS) -> None:
        self.folder = Path(photos).expanduser().resolve()
        self.subfolders = [subfolders] if isinstance(subfolders, (str, Path)) else subfolders
        scan_photos(self.folder, self.subfolders)  # fail on a missing or empty folder before loading any model
        self.cache_path: Path | None = (default_cache_path(self.folder) if cache is True
                                        else Path(cache).expanduser() if cache else None)
        if self.cache_path is not None:
            check_cache_path(self.cache_path)  # refuse a file we did not write before any work
        self.embedder = embedder or load_embedder(checkpoint, backbone=backbone, image_size=image_size, device=device)
        self.batch_size, self.progress = int(batch_size), progress
        self.workers = workers or min(4, os.cpu_count() or 1)
        self.max_pixels = max_pixels
        self._cache: EmbeddingCache | None = None
        self._unlisted: dict[str, str] = {}  # photo names that cannot even be opened (looping links)
        self._gallery = self._gallery_sq = self._faiss = self._cluster = None
        self.last_update = self.refresh(rebuild=rebuild)

    # -- the gallery ---------------------------------------------------------------------------
    @property
    def model(self) -> ModelInfo:
        return self.embedder.info

    @property
    def paths(self) -> list[Path]:
        """Absolute paths of the searchable photos, in gallery order."""
        return [self.folder / rel for rel in self._cache.paths]

    @property
    def embeddings(self) -> np.ndarray:
        """float32 [n photos, dim], L2-normalised, in the order of `paths`."""
        return self._cache.embeddings

    @property
    def skipped(self) -> list[SkippedPhoto]:
        """Files that looked like photos but could not be read (never fatal), by path."""
        reasons = {rel: reason for rel, (_, reason) in self._cache.failed.items()} | self._unlisted
        return [SkippedPhoto(self.folder / rel, reason) for rel, reason in sorted(reasons.items())]

    @property
    def set_aside(self) -> list[SkippedPhoto]:
        """Photos that decoded but embedded degenerate (all zeros or non-finite): not ranked, by path."""
        return [SkippedPhoto(self.folder / rel, reason) for rel, (_, reason) in sorted(self._cache.set_aside.items())]

    def __len__(self) -> int:
        return len(self._cache.paths)

    def __repr__(self) -> str:
        return f"SketchSearch({str(self.folder)!r}, {len(self)} photos, model={self.model.describe()})"

    def refresh(self, rebuild: bool = False) -> UpdateReport:
        """Rescan the folder: embed new and changed photos, drop deleted ones, save the cache."""
        scan = scan_photos(self.folder, self.subfolders)
        current, self._unlisted = scan.photos, scan.unreadable
        old, why = self._previous_cache(rebuild)
        report = UpdateReport(rebuilt_because=why)
        keep_rows, failed, set_aside, to_embed = [], {}, {}, []
        old_rows = {rel: row for row, rel in enumerate(old.paths)} if old else {}
        for rel, stamp in current.items():
            if rel in old_rows and old.stamps[old_rows[rel]] == stamp:
                keep_rows.append(rel)
            elif old and rel in old.failed and old.failed[rel][0] == stamp:
                failed[rel] = old.failed[rel]
            elif old and rel in old.set_aside and old.set_aside[rel][0] == stamp:
                set_aside[rel] = old.set_aside[rel]
            else:
                to_embed.append(rel)
        if old:
            known = set(old.paths) | set(old.failed) | set(old.set_aside)
            report.removed = len(known - set(current))
            report.embedded_changed = sum(rel in known for rel in to_embed)
        report.embedded_new = len(to_embed) - report.embedded_changed
        report.reused = len(keep_rows)

        vectors: dict[str, np.ndarray] = {rel: old.embeddings[old_rows[rel]] for rel in keep_rows}
        try:
            for rel, vector, reason in self._embed_files(to_embed):
                if vector is None:
                    failed[rel] = (current[rel], reason)
                elif (degenerate := degenerate_reason(vector)) is not None:
                    set_aside[rel] = (current[rel], degenerate)
                else:
                    vectors[rel] = vector
        finally:
            # Even when interrupted, keep what was embedded so the next opening resumes from it.
            self._cache = self._assemble(current, vectors, failed, set_aside)
            changed = bool(to_embed or report.removed or why or old is None)
            if changed and self.cache_path is not None:
                self._save_cache()
        report.photos = len(self._cache.paths)
        report.skipped, report.set_aside = self.skipped, self.set_aside
        self._gallery = self._gallery_sq = self._faiss = self._cluster = None
        if report.photos == 0:
            left_out = report.skipped + report.set_aside
            first = left_out[0] if left_out else None
            raise SearchError(f"none of the {len(current)} photos in {self.folder} could be read and embedded"
                              + (f" (first: {first.path}: {first.reason})" if first else ""))
        self.last_update = report
        return report

    def _previous_cache(self, rebuild: bool) -> tuple[EmbeddingCache | None, str | None]:
        """The cache worth reusing (or None) and, when one was thrown away, why."""
        if self._cache is not None and not rebuild:  # a refresh: what is in memory is current
            return self._cache, None
        if self.cache_path is None or not self.cache_path.exists():
            return None, None
        try:
            old = EmbeddingCache.load(self.cache_path)
        except CacheUnusable as error:
            return self._rebuild_message(f"{error}")
        mine = self.model
        if (old.model.backbone, old.model.dim) != (mine.backbone, mine.dim) and not rebuild:
            raise ModelMismatchError(
                f"the search cache {self.cache_path} holds {old.model.describe()} embeddings, but the model now is "
                f"{mine.describe()}: embeddings of different backbones or sizes cannot be compared. "
                "Pass rebuild=True (CLI: --rebuild) to re-embed the folder with this model, or another cache path.")
        if rebuild:
            return self._rebuild_message("a rebuild was asked for")
        if old.model != mine:
            return self._rebuild_message(f"it was built with another model or preprocessing ({old.model.describe()}; "
                                         f"now {mine.describe()})")
        if old.folder and Path(old.folder) != self.folder:
            return self._rebuild_message(f"it belongs to another folder ({old.folder})")
        return old, None

    def _rebuild_message(self, why: str) -> tuple[None, str]:
        warnings.warn(f"rebuilding the search cache {self.cache_path}: {why}", SearchCacheWarning, stacklevel=4)
        return None, why

    def _assemble(self, current: dict[str, FileStamp], vectors: dict[str, np.ndarray],
                  failed: dict[str, tuple[FileStamp, str]],
                  set_aside: dict[str, tuple[FileStamp, str]]) -> EmbeddingCache:
        rels = [rel for rel in current if rel in vectors]  # folder order, stable across openings
        matrix = (np.stack([vectors[rel] for rel in rels]).astype(np.float32) if rels
                  else np.zeros((0, self.model.dim), np.float32))
        return EmbeddingCache(model=self.model, folder=str(self.folder), paths=rels,
                              stamps=[current[rel] for rel in rels], embeddings=matrix, failed=failed,
                              set_aside=set_aside)

    def _save_cache(self) -> None:
        try:
            self._cache.save(self.cache_path)
        except OSError as error:  # a read-only place should not stop the search itself
            warnings.warn(f"could not write the search cache {self.cache_path}: {error}", SearchCacheWarning, stacklevel=3)

    def _embed_files(self, rels: Sequence[str]):
        """Yield (rel, vector or None, reason) for each file, decoding in threads, embedding in batches."""
        paths = [self.folder / rel for rel in rels]
        for item in embed_files(self.embedder, paths, batch_size=self.batch_size, workers=self.workers,
                                progress=self.progress, max_pixels=self.max_pixels, desc=f"embedding {self.folder.name}"):
            if item.embedding is not None and item.embedding.shape != (self.model.dim,):
                raise ModelMismatchError(f"the embedder returned a {item.embedding.shape} embedding for "
                                         f"{paths[item.position]}; its info promises {self.model.dim}-d embeddings")
            yield rels[item.position], item.embedding, item.reason

    # -- querying ------------------------------------------------------------------------------
    def embed_sketch(self, sketch: Any) -> np.ndarray:
        """The sketch's embedding (float32 [dim]) after the same preprocessing as the photos."""
        vector = self.embedder.embed_batch([self.embedder.preprocess(sketch_to_image(sketch))])
        return np.asarray(vector, dtype=np.float32).reshape(-1)

    def query(self, sketch: Any, k: int = 10, *, matcher: str = "one_to_one", backend: str = "exact") -> list[SearchHit]:
        """The `k` photos closest to `sketch`, nearest first.

        sketch: a path, PIL image or numpy array (see `sketch_to_image`).
        matcher: "one_to_one" (distance between the sketch and each photo) or "cluster"
            (the one-to-many cluster matcher of `sbka_lite.retrieval`, fitted on this folder
            once, label-free).
        backend: "exact" (default) or "faiss" (approximate IVF index; one-to-one only).
        """
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise SearchError(f"k must be a positive integer; got {k!r}")
        if matcher not in ("one_to_one", "cluster"):
            raise SearchError(f"matcher must be 'one_to_one' or 'cluster'; got {matcher!r}")
        if backend not in ("exact", "faiss"):
            raise SearchError(f"backend must be 'exact' or 'faiss'; got {backend!r}")
        query = self.embed_sketch(sketch)
        if matcher == "cluster":
            if backend != "exact":
                raise SearchError("the cluster matcher scores every photo; use backend='exact' with it")
            scores = np.asarray(self.cluster_matcher().score(query[None]), dtype=np.float64).reshape(-1)
            order = np.argsort(scores, kind="stable")[:k]
            distances, indices = scores[order], order
        elif backend == "faiss":
            distances, indices = self.faiss_index().search(query[None], k)
            keep = indices[0] >= 0  # IVF returns -1 when the probed cells hold fewer than k photos
            distances, indices = distances[0][keep], indices[0][keep]
        else:
            distances, indices = exact_topk(query[None], self._gallery_tensor(), k, gallery_sq_norms=self._gallery_sq)
            distances, indices = distances[0], indices[0]
        paths = self._cache.paths
        return [SearchHit(self.folder / paths[i], float(d)) for d, i in zip(distances, indices)]

    def _gallery_tensor(self) -> torch.Tensor:
        if self._gallery is None:
            device = getattr(self.embedder, "device", torch.device("cpu"))
            self._gallery = torch.from_numpy(self._cache.embeddings).to(device)
            self._gallery_sq = squared_norms(self._gallery)
        return self._gallery

    def faiss_index(self, **build_options) -> FaissIndex:
        """The FAISS IVF-Flat index over this folder, built on first use (needs faiss-cpu)."""
        if self._faiss is None or build_options:
            self._faiss = FaissIndex.build(self._cache.embeddings, **build_options)
        return self._faiss

    def cluster_matcher(self, matcher: Any = None):
        """The one-to-many matcher of `sbka_lite.retrieval`, fitted on this folder on first use.

        Pass a configured, unfitted `ClusterMatcher` to choose its settings. The default picks the
        number of subspaces M and components K from the folder alone (BIC, no labels), with the K
        candidates of `sbka_lite.codebooks.label_free_candidates` (the rule notebook 04 uses).
        """
        if matcher is None and self._cluster is not None:
            return self._cluster
        n = len(self)
        if n < MIN_PHOTOS_FOR_CLUSTERS:
            raise SearchError(f"cluster matching needs at least {MIN_PHOTOS_FOR_CLUSTERS} photos to find clusters; "
                              f"{self.folder} has {n}: use matcher='one_to_one'")
        if matcher is None:
            matcher = ClusterMatcher("auto", "auto")  # the package's label-free rule
        self._cluster = matcher.fit(self._cache.embeddings)
        return self._cluster
