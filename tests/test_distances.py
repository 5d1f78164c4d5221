"""sbka_lite.distances: distances equal scipy's, and every top-k follows the one tie rule (stable sort)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from sbka_lite import distances
from sbka_lite.distances import euclidean, euclidean_chunks, exact_topk, pairwise_distances, smallest_k


@pytest.fixture
def integer_problem():
    """Small-integer embeddings: exact float32 distances with many ties."""
    rng = np.random.default_rng(0)
    return rng.integers(-2, 3, (25, 3)).astype(np.float32), rng.integers(-2, 3, (90, 3)).astype(np.float32)


@pytest.mark.parametrize("as_tensor", [False, True])
def test_euclidean_equals_cdist(as_tensor):
    rng = np.random.default_rng(1)
    query, gallery = rng.standard_normal((7, 5)).astype(np.float32), rng.standard_normal((11, 5)).astype(np.float32)
    q, g = (torch.from_numpy(query), torch.from_numpy(gallery)) if as_tensor else (query, gallery)
    got = np.asarray(euclidean(q, g))
    np.testing.assert_allclose(got, cdist(query, gallery), atol=1e-5)
    np.testing.assert_allclose(np.asarray(euclidean(q, g, squared=True)), cdist(query, gallery, "sqeuclidean"), atol=1e-5)
    blocks = np.concatenate([block for _, block in euclidean_chunks(query, gallery, chunk=3)])
    np.testing.assert_allclose(blocks, got, atol=1e-6)


def test_distance_of_a_point_to_itself_is_zero_not_nan():
    x = np.array([[1e3, 1e-3, 7.0]], np.float32)
    assert pairwise_distances(x, x)[0, 0] == 0.0


@pytest.mark.parametrize("chunk_rows", [7, 64, 1000])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_exact_topk_is_the_stable_argsort(integer_problem, chunk_rows, as_tensor):
    query, gallery = integer_problem
    expected = np.argsort(cdist(query, gallery, "sqeuclidean"), axis=1, kind="stable")[:, :12]
    g = torch.from_numpy(gallery) if as_tensor else gallery
    dist, idx = exact_topk(query, g, 12, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(dist, np.take_along_axis(cdist(query, gallery), expected, 1), atol=1e-5)


def test_smallest_k_keeps_lower_index_ties_at_the_cut():
    rows = torch.tensor([[3.0, 1.0, 2.0, 2.0, 2.0, 0.0, 2.0]])
    for k in (1, 2, 3, 4, 7):
        expected = np.argsort(rows.numpy(), axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(smallest_k(rows, k)[1].numpy(), expected)
        np.testing.assert_array_equal(smallest_k(rows.numpy(), k)[1], expected)


def test_torch_topk_boundary_ties_are_fixed(monkeypatch):
    """torch.topk may return any of the tied values at the k-th place; the rule picks the lowest index."""
    rows = torch.tensor([[1.0, 0.0, 1.0, 1.0]])

    def unlucky_topk(x, k, dim, largest, sorted):  # a legal topk answer that keeps the highest-index tie
        return torch.tensor([[0.0, 1.0]]), torch.tensor([[1, 3]])

    monkeypatch.setattr(distances.torch, "topk", unlucky_topk)
    assert smallest_k(rows, 2)[1].tolist() == [[1, 0]]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="query_emb row 0 holds NaN"):
        pairwise_distances(np.full((1, 2), np.nan), np.ones((2, 2)))
    with pytest.raises(ValueError, match="dim 2 but gallery_emb has dim 3"):
        pairwise_distances(np.ones((1, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-empty"):
        exact_topk(np.ones((1, 2)), torch.ones((0, 2)), 3)
    with pytest.raises(ValueError, match="2-d but the gallery's are 3-d"):
        exact_topk(np.ones((1, 2)), torch.ones((4, 3)), 3)
