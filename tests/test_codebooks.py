"""sbka_lite.codebooks: the official style (full covariances, nearest-mean codes) against ours."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from sbka_lite.codebooks import CLUSTER_STYLES, resolve_style
from sbka_lite.retrieval import ClusterMatcher


def tight_and_wide(n_each=400, seed=0):
    """Two 2-d blobs: a tight one at the origin (sd 0.05) and a wide one at (3, 0) (sd 1.5).

    A wide-blob point near the origin is nearer the tight mean, yet the tight component gives
    it almost no density: there the nearest mean and the most probable component disagree."""
    rng = np.random.default_rng(seed)
    tight = 0.05 * rng.standard_normal((n_each, 2))
    wide = np.array([3.0, 0.0]) + 1.5 * rng.standard_normal((n_each, 2))
    return np.concatenate([tight, wide]).astype(np.float32)


def hand_nearest(x, means):
    return np.array([np.argmin([np.sum((row - mean) ** 2) for mean in means]) for row in x.astype(np.float64)])


def test_official_codes_are_the_nearest_mean_where_the_posterior_disagrees():
    gallery = tight_and_wide()
    official = ClusterMatcher(1, 2, style="official").fit(gallery)
    assert official.code_rule_ == "nearest_mean" and official.covariance_type_ == "full"
    nearest = hand_nearest(gallery, official.centres_[0].astype(np.float64))
    np.testing.assert_array_equal(official.codes_[:, 0], nearest)
    # The data must tell the rules apart: the posterior argmax of the same mixture codes many
    # wide-blob points near the origin by the wide component, unlike their nearest mean.
    posterior = ClusterMatcher(1, 2, style="official", code_rule="posterior").fit(gallery)
    np.testing.assert_allclose(posterior.centres_[0], official.centres_[0])
    disagree = posterior.codes_[:, 0] != nearest
    assert disagree.sum() >= 20
    wide_component = int(np.argmax(np.linalg.norm(official.centres_[0], axis=1)))
    assert (posterior.codes_[disagree, 0] == wide_component).all()


def test_nearest_mean_codes_on_random_clustered_data_with_several_subspaces():
    rng = np.random.default_rng(1)
    gallery = (rng.standard_normal((5, 12))[rng.integers(0, 5, 500)]
               + 0.7 * rng.standard_normal((500, 12))).astype(np.float32)
    matcher = ClusterMatcher(3, 5, code_rule="nearest_mean").fit(gallery)  # diagonal mixture, nearest means
    for m, (lo, hi) in enumerate(matcher.bounds_):
        np.testing.assert_array_equal(matcher.codes_[:, m], hand_nearest(gallery[:, lo:hi], matcher.centres_[m]))


def test_official_mixture_has_full_covariances_as_sklearn_defaults():
    rng = np.random.default_rng(2)
    mixing = np.array([[1.0, 0.9, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, -0.8], [0.0, 0.0, 0.3, 0.6]])
    gallery = (rng.standard_normal((600, 4)) @ mixing + 4 * rng.integers(0, 3, (600, 1))).astype(np.float32)
    official = ClusterMatcher(2, 3, style="official").fit(gallery)
    for m, (lo, hi) in enumerate(official.bounds_):
        cov = official.covariances_[m]
        assert cov.shape == (3, 2, 2)
        np.testing.assert_allclose(cov, cov.transpose(0, 2, 1))
        assert np.abs(cov[:, 0, 1]).min() > 0.1  # correlated dims: clearly non-diagonal
        # the official call, GMM(n_components=K) with every other argument left at its default
        direct = GaussianMixture(n_components=3, random_state=0).fit(gallery[:, lo:hi])
        np.testing.assert_allclose(official.centres_[m], direct.means_, atol=1e-5)
        np.testing.assert_allclose(cov, direct.covariances_, atol=1e-5)
    ours = ClusterMatcher(2, 3).fit(gallery)
    assert ours.covariance_type_ == "diag" and ours.code_rule_ == "posterior"
    assert ours.covariances_[0].shape == (3, 2)
    assert ClusterMatcher(2, 3, codebook="kmeans").fit(gallery).covariances_ == [None, None]


def test_styles_and_overrides():
    assert resolve_style("official") == CLUSTER_STYLES["official"] == {"covariance_type": "full",
                                                                        "code_rule": "nearest_mean"}
    assert resolve_style("official", covariance_type="diag") == {"covariance_type": "diag",
                                                                 "code_rule": "nearest_mean"}
    assert resolve_style("ours") == {"covariance_type": "diag", "code_rule": "posterior"}
    with pytest.raises(ValueError, match=r"style must be one of \['official', 'ours'\]"):
        resolve_style("paper")
    with pytest.raises(ValueError, match="code_rule must be one of"):
        ClusterMatcher(code_rule="argmax").fit(tight_and_wide(20))
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        ClusterMatcher(covariance_type="dense").fit(tight_and_wide(20))
