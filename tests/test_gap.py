"""Modality-gap measures respond the right way to constructed embeddings."""
import numpy as np
import pytest

from sbka_lite import gap


def _clusters(n_classes=5, per_class=20, dim=16, spread=0.1, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    labels = np.repeat(np.arange(n_classes), per_class)
    offset = np.zeros(dim)
    offset[0] = shift
    return centres[labels] + spread * rng.normal(size=(len(labels), dim)) + offset, labels


def test_centroid_distance_zero_for_same_cloud_and_grows_with_shift():
    x, _ = _clusters()
    assert gap.centroid_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    near, _ = _clusters(seed=1)
    far, _ = _clusters(seed=1, shift=5.0)
    assert gap.centroid_distance(x, far) > gap.centroid_distance(x, near)


def test_probe_is_chance_for_identical_distributions_and_perfect_for_separated():
    sketch, _ = _clusters(seed=0, spread=1.0)
    photo, _ = _clusters(seed=0, spread=1.0)
    photo = photo + np.random.default_rng(5).normal(scale=1e-3, size=photo.shape)
    assert gap.modality_probe_accuracy(sketch, photo) < 0.7
    shifted, _ = _clusters(seed=0, spread=1.0, shift=20.0)
    assert gap.modality_probe_accuracy(sketch, shifted) > 0.95


def test_ratio_below_one_when_classes_align_across_modalities():
    sketch, ls = _clusters(seed=0)
    photo, lp = sketch + 0.05, ls  # same class centres
    assert gap.same_to_different_ratio(sketch, ls, photo, lp) < 0.5
    shuffled = np.random.default_rng(0).permutation(lp)
    assert gap.same_to_different_ratio(sketch, ls, photo, shuffled) == pytest.approx(1.0, abs=0.15)


def test_report_has_all_measures_and_cross_modal_map_drops_with_gap():
    sketch, ls = _clusters(seed=0, spread=0.3)
    photo, lp = _clusters(seed=0, spread=0.3)
    aligned = gap.modality_gap_report(sketch, ls, photo, lp)
    assert set(aligned) == {"centroid_distance", "modality_probe_accuracy", "retrieval_map", "same_to_different_ratio"}
    assert aligned["retrieval_map"]["sketch_to_photo"] > 0.9
    scrambled = gap.modality_gap_report(sketch, ls, np.random.default_rng(3).normal(size=photo.shape), lp)
    assert scrambled["retrieval_map"]["sketch_to_photo"] < aligned["retrieval_map"]["sketch_to_photo"] - 0.3


def test_bad_input_is_refused():
    x, labels = _clusters()
    with pytest.raises(ValueError, match="NaN"):
        gap.centroid_distance(np.full((3, 4), np.nan), x)
    with pytest.raises(ValueError, match="one label per row"):
        gap.modality_gap_report(x, labels[:-1], x, labels)
