"""The optional approximate nearest-neighbour index (FAISS IVF-Flat) for very large photo folders."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def import_faiss():
    """Import faiss lazily, with a message that says how to get it."""
    try:
        import faiss  # noqa: PLC0415
    except ImportError as error:
        raise ImportError("FAISS search needs the optional package faiss-cpu: pip install 'sbka-lite[faiss]' "
                          "(or pip install faiss-cpu); exact search (the default) needs nothing extra") from error
    return faiss


@dataclass
class FaissIndex:
    """An approximate index: IVF-Flat (k-means cells, exact distances inside the probed cells).

    IVF-Flat rather than HNSW: it builds in seconds for 10^5 1280-d vectors and in about two
    minutes for 10^6 on two CPU cores (HNSW's graph takes far longer at that size), it stores
    the vectors as they are, and its one knob, `nprobe`, trades recall for speed predictably.
    """

    index: Any
    nlist: int
    nprobe: int

    @classmethod
    def build(cls, embeddings: np.ndarray, *, nlist: int | None = None, nprobe: int | None = None,
              train_points_per_cell: int = 50, kmeans_iterations: int = 10, seed: int = 0) -> "FaissIndex":
        """Train `nlist` cells (default about sqrt(n)) on a sample, add every vector, probe `nprobe` cells
        (default nlist/16) per query."""
        faiss = import_faiss()
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        n, dim = embeddings.shape
        nlist = int(nlist or max(1, min(round(np.sqrt(n)), n // 39)))  # FAISS wants >= 39 points per cell
        nprobe = int(nprobe or max(1, nlist // 16))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist, faiss.METRIC_L2)
        index.cp.niter, index.cp.seed = kmeans_iterations, seed
        sample_size = min(n, train_points_per_cell * nlist)
        rng = np.random.default_rng(seed)
        sample = embeddings if sample_size == n else embeddings[np.sort(rng.choice(n, sample_size, replace=False))]
        index.train(sample)
        for start in range(0, n, 100_000):  # add in slices so the temporary copies stay small
            index.add(embeddings[start:start + 100_000])
        index.nprobe = min(nprobe, nlist)
        return cls(index=index, nlist=nlist, nprobe=index.nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Euclidean distances [q, k], indices [q, k]); missing neighbours (k > probed points) are dropped."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(int(k), self.index.ntotal))
        sq, indices = self.index.search(queries, k)
        return np.sqrt(np.clip(sq, 0, None)), indices
