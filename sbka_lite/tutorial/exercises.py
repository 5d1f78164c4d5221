"""Checks for the notebooks' exercises: the learner's function against the package's, on random inputs.

An exercise cell defines a small function (its solution between nbgrader's ``### BEGIN SOLUTION`` /
``### END SOLUTION`` markers, which ``make student`` replaces with ``raise NotImplementedError()``);
the next cell calls one ``check_*`` below (a grade cell for nbgrader: its hidden part, in the teacher's
edition only, runs the same check on more and other inputs, ``seed=``). A check prints one line when every case agrees, and
otherwise raises `ExerciseError` naming the failing case, its inputs' shapes and the difference,
so a learner sees what to fix rather than a bare ``AssertionError``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sbka_lite import gap
from sbka_lite.distances import smallest_k
from sbka_lite.metrics import evaluate_scores
from sbka_lite.retrieval import ClusterMatcher


class ExerciseError(AssertionError):
    """The learner's function disagrees with the package (or is not written yet)."""


def _describe(inputs: dict[str, Any]) -> str:
    parts = []
    for name, value in inputs.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name}: array{tuple(value.shape)}")
        elif isinstance(value, list):
            parts.append(f"{name}: list of {len(value)}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def _difference(got: Any, want: np.ndarray) -> str | None:
    """None when `got` matches `want` (to float tolerance), else what differs, in words."""
    got_arr = np.asarray(got, dtype=np.float64) if got is not None else None
    if got_arr is None or got_arr.shape != want.shape:
        shape = None if got_arr is None else got_arr.shape
        return f"returned shape {shape} (value {got!r:.80}), expected shape {want.shape}"
    if not np.isfinite(got_arr).all():
        return "returned NaN or inf"
    diff = np.abs(got_arr - want)
    if np.allclose(got_arr, want, rtol=1e-4, atol=1e-5):
        return None
    if want.ndim == 0:
        return f"returned {float(got_arr):.6g}, expected {float(want):.6g} (off by {float(diff):.3g})"
    where = np.unravel_index(int(diff.argmax()), diff.shape)
    return (f"{int((diff > 1e-5 + 1e-4 * np.abs(want)).sum())} of {want.size} entries differ; largest at "
            f"{tuple(int(i) for i in where)}: returned {got_arr[where]:.6g}, expected {want[where]:.6g}")


def check(learner_fn: Callable[..., Any], reference_fn: Callable[..., Any],
          make_inputs: Callable[[np.random.Generator], dict[str, Any]], *, n_cases: int = 5, seed: int = 0,
          name: str | None = None, hint: str = "") -> None:
    """Compare ``learner_fn(**inputs)`` with ``reference_fn(**inputs)`` on `n_cases` random inputs.

    Prints a pass line and returns nothing (a grade cell's value would read to nbgrader as partial credit);
    raises `ExerciseError` on the first case that differs, or when the exercise is not written yet.
    """
    name = name or getattr(learner_fn, "__name__", "your function")
    rng = np.random.default_rng(seed)
    for case in range(1, n_cases + 1):
        inputs = make_inputs(rng)
        want = np.asarray(reference_fn(**inputs), dtype=np.float64)
        try:
            got = learner_fn(**{key: (value.copy() if isinstance(value, np.ndarray) else value)
                                for key, value in inputs.items()})
        except NotImplementedError:
            raise ExerciseError(f"exercise not done yet: write the body of `{name}` in the cell above "
                                f"(replace `raise NotImplementedError()`), then run that cell and this one again."
                                ) from None
        except Exception as error:  # the learner's bug: say which case, keep the original traceback
            raise ExerciseError(f"`{name}` raised {type(error).__name__}: {error} on case {case} of {n_cases} "
                                f"({_describe(inputs)})") from error
        problem = _difference(got, want)
        if problem:
            raise ExerciseError(f"`{name}` differs from the package on case {case} of {n_cases} "
                                f"({_describe(inputs)}): {problem}." + (f" Hint: {hint}" if hint else ""))
    print(f"passed: `{name}` agrees with the package on {n_cases} random cases.")


def check_choice(name: str, namespace: dict[str, Any], choices: tuple[str, ...]) -> None:
    """A judgement exercise: `name` (set in `namespace`, a notebook's ``globals()``) must be one of `choices`.

    Which choice is right is the grade cell's hidden test (the teacher's edition); this only says whether an
    answer is there and well-formed, so that a learner is never told the answer by the check itself."""
    if name not in namespace:
        raise ExerciseError(f"exercise not done yet: set `{name}` in the cell above to one of {list(choices)} "
                            "(replace `raise NotImplementedError()`), then run that cell and this one again.")
    answer = namespace[name]
    if answer not in choices:
        raise ExerciseError(f"`{name}` is {answer!r}; it must be one of {list(choices)}.")
    print(f"passed: `{name}` = {answer!r} recorded (your teacher's edition grades the choice).")


# ---- notebook 02: the modality gap --------------------------------------------------------------------------------

def _gap_inputs(rng: np.random.Generator) -> dict[str, Any]:
    dim, n_classes = int(rng.integers(3, 17)), int(rng.integers(2, 5))
    n_sketch, n_photo = int(rng.integers(n_classes * 2, 40)), int(rng.integers(n_classes * 2, 50))
    shift = rng.normal(size=dim)  # a modality offset, so the gap is not zero
    sketch_labels = np.r_[np.arange(n_classes), rng.integers(0, n_classes, n_sketch - n_classes)]
    photo_labels = np.r_[np.arange(n_classes), rng.integers(0, n_classes, n_photo - n_classes)]
    return {"sketch_emb": (rng.normal(size=(n_sketch, dim)) * rng.uniform(0.5, 3) + shift).astype(np.float32),
            "sketch_labels": sketch_labels,
            "photo_emb": (rng.normal(size=(n_photo, dim)) * rng.uniform(0.5, 3)).astype(np.float32),
            "photo_labels": photo_labels}


def check_centroid_distance(learner_fn: Callable[..., Any], n_cases: int = 5, seed: int = 0) -> None:
    """``learner_fn(sketch_emb, photo_emb)`` vs `sbka_lite.gap.centroid_distance`."""
    def pick(rng):
        inputs = _gap_inputs(rng)
        return {"sketch_emb": inputs["sketch_emb"], "photo_emb": inputs["photo_emb"]}
    check(learner_fn, gap.centroid_distance, pick, n_cases=n_cases, seed=seed,
          hint="L2-normalise every row first, then take the distance between the two mean vectors.")


def check_same_to_different_ratio(learner_fn: Callable[..., Any], n_cases: int = 5, seed: int = 0) -> None:
    """``learner_fn(sketch_emb, sketch_labels, photo_emb, photo_labels)`` vs `gap.same_to_different_ratio`."""
    check(learner_fn, gap.same_to_different_ratio, _gap_inputs, n_cases=n_cases, seed=seed,
          hint="normalise rows; average Euclidean (not squared) sketch-photo distances over same-class "
               "pairs, divide by the average over different-class pairs.")


# ---- notebook 04: cluster matching -------------------------------------------------------------------------------

def _cluster_inputs(rng: np.random.Generator) -> dict[str, Any]:
    n_subspaces = int(rng.choice([1, 2, 4]))
    dim, n_components = n_subspaces * int(rng.integers(2, 5)), int(rng.integers(2, 5))
    gallery = rng.normal(size=(int(rng.integers(12, 30)), dim)).astype(np.float32)
    matcher = _kmeans_matcher(gallery, n_subspaces, n_components)
    return {"query": rng.normal(size=(int(rng.integers(1, 6)), dim)).astype(np.float32), "gallery": gallery,
            "centres": [c.copy() for c in matcher.centres_], "codes": matcher.codes_.copy()}


def _kmeans_matcher(gallery: np.ndarray, n_subspaces: int, n_components: int) -> ClusterMatcher:
    # k-means codes are each photo's nearest centre, as the official code's; fixed seed: the same fit twice
    return ClusterMatcher(n_subspaces, n_components, codebook="kmeans", random_state=0).fit(gallery)


def _package_cluster_score(query, gallery, centres, codes):
    return _kmeans_matcher(gallery, len(centres), len(centres[0])).score(query)


def check_cluster_score(learner_fn: Callable[..., Any], n_cases: int = 5, seed: int = 0) -> None:
    """``learner_fn(query, gallery, centres, codes)`` vs `sbka_lite.retrieval.ClusterMatcher.score` (blend 0.8)."""
    check(learner_fn, _package_cluster_score, _cluster_inputs, n_cases=n_cases, seed=seed,
          hint="split the query into len(centres) equal sub-vectors; the cluster term is squared, the "
               "photo term ||q - photo|| is not; score = 0.8 * cluster + 0.2 * photo.")


def _score_inputs(rng: np.random.Generator) -> dict[str, Any]:
    n_gallery = int(rng.integers(3, 30))
    # rounded scores: ties happen, so the tie rule matters
    scores = np.round(rng.uniform(0, 3, size=(int(rng.integers(1, 6)), n_gallery)), 0).astype(np.float32)
    return {"scores": scores, "k": int(rng.integers(1, n_gallery + 1))}


def check_top_k(learner_fn: Callable[..., Any], n_cases: int = 8, seed: int = 0) -> None:
    """``learner_fn(scores, k)`` vs `sbka_lite.distances.smallest_k` (lowest first, ties by gallery index)."""
    check(learner_fn, lambda scores, k: smallest_k(scores, k)[1], _score_inputs, n_cases=n_cases, seed=seed,
          hint="lower scores rank first; among equal scores the lower gallery index comes first "
               "(a stable sort keeps that order).")


# ---- notebook 07: metrics of one ranking -------------------------------------------------------------------------

def _ranking_inputs(rng: np.random.Generator) -> dict[str, Any]:
    n = int(rng.integers(2, 40))
    relevant = rng.random(n) < rng.uniform(0.1, 0.6)
    relevant[rng.integers(0, n)] = True  # at least one relevant photo
    return {"relevant": relevant}


def _package_ranking_metrics(relevant: np.ndarray, k: int, preset: str) -> dict[str, Any]:
    """The package's metrics of one query whose gallery is already in rank order (`relevant[i]`: rank i+1)."""
    relevant = np.asarray(relevant, dtype=bool)
    scores = np.arange(len(relevant), dtype=np.float32)[None, :]  # lower is better: the order given
    return evaluate_scores(scores, [1], relevant.astype(int), ks=(k,), device="cpu", progress=False, preset=preset)


def check_voc_ap(learner_fn: Callable[..., Any], n_cases: int = 8, seed: int = 0) -> None:
    """``learner_fn(relevant)`` vs the package's VOC-interpolated AP of that one ranking."""
    def reference(relevant):
        return _package_ranking_metrics(relevant, 1, preset="sbka_lite")["per_query"]["ap_all"][0]  # VOC AP
    check(learner_fn, reference, _ranking_inputs, n_cases=n_cases, seed=seed,
          hint="precision at each rank, made monotone from the right (a running max from the end); "
               "sum it at the ranks of relevant photos, divide by the number of relevant photos.")


def check_precision_at_k(learner_fn: Callable[..., Any], n_cases: int = 8, seed: int = 0) -> None:
    """``learner_fn(relevant, k)`` vs the package's P@k (hits in the top k / min(k, gallery size): SBKA, SAKE)."""
    def make(rng):
        inputs = _ranking_inputs(rng)
        return {**inputs, "k": int(rng.integers(1, len(inputs["relevant"]) + 3))}

    def reference(relevant, k):
        return _package_ranking_metrics(relevant, k, preset="sbka_lite")["per_query"][f"prec_{k}"][0]
    check(learner_fn, reference, make, n_cases=n_cases, seed=seed,
          hint="count relevant photos in the first k places and divide by k, or by the gallery's size "
               "when k is larger than the gallery.")


# ---- notebook 03: the objective ----------------------------------------------------------------------------------

def _sce_inputs(rng: np.random.Generator) -> dict[str, Any]:
    batch, classes = int(rng.integers(3, 12)), int(rng.integers(3, 20))
    is_photo = rng.random(batch) < 0.6
    is_photo[int(rng.integers(batch))] = True  # at least one photo
    mask = np.where(rng.random((batch, classes)) < 0.2, rng.choice([0.3, 1.0], (batch, classes)), 0.0)
    return {"student_logits": rng.normal(size=(batch, classes)) * 3, "teacher_logits": rng.normal(size=(batch, classes)) * 3,
            "mask": mask, "is_photo": is_photo, "mask_scale": 0.3}


def _package_sce(student_logits, teacher_logits, mask, is_photo, mask_scale):
    import torch  # noqa: PLC0415  (only the objective's checks need it)

    from sbka_lite.losses import soft_cross_entropy  # noqa: PLC0415
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return float(soft_cross_entropy(t(student_logits), t(teacher_logits), semantic_mask=t(mask), mask_scale=mask_scale,
                                    sample_mask=torch.as_tensor(is_photo)))


def check_photo_sce(learner_fn: Callable[..., Any], n_cases: int = 6, seed: int = 0) -> None:
    """``learner_fn(student_logits, teacher_logits, mask, is_photo, mask_scale)`` vs `losses.soft_cross_entropy`."""
    check(learner_fn, _package_sce, _sce_inputs, n_cases=n_cases, seed=seed,
          hint="target = softmax(teacher_logits + mask_scale * mask); per sample -sum(target * "
               "log_softmax(student_logits)); average over the photos only (is_photo True).")


def _align_inputs(rng: np.random.Generator) -> dict[str, Any]:
    batch, dim = int(rng.integers(2, 10)), int(rng.integers(3, 30))
    return {"features": rng.normal(size=(batch, dim)) * rng.uniform(0.5, 3), "noise": rng.normal(size=(batch, dim))}


def _package_align(features, noise):
    import torch  # noqa: PLC0415

    from sbka_lite.losses import gaussian_alignment  # noqa: PLC0415
    return float(gaussian_alignment(torch.as_tensor(features, dtype=torch.float64), torch.as_tensor(noise, dtype=torch.float64)))


def check_gaussian_alignment(learner_fn: Callable[..., Any], n_cases: int = 6, seed: int = 0) -> None:
    """``learner_fn(features, noise)`` vs `losses.gaussian_alignment`: KL(softmax(noise) || softmax(features))."""
    check(learner_fn, _package_align, _align_inputs, n_cases=n_cases, seed=seed,
          hint="p = softmax(noise), q = softmax(features) over each row; sum p * (log p - log q) per row, "
               "then the mean over rows (not over every entry).")
