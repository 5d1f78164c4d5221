"""The evaluation conventions of ZS-SBIR papers, each by name, and the arithmetic each one does.

The same ranking gives different "mAP@all" and "P@100" in different papers because five
choices differ silently (``docs/METHOD.md``, "Evaluation protocol"):

* ``ap``: ``"voc"``, the VOC-interpolated area (precision made monotone from the right,
  summed over recall steps: the SAKE / SBKA / ZSE-SBIR code), or ``"sklearn"``,
  scikit-learn's non-interpolated ``average_precision_score`` (tied scores form one
  threshold). VOC never scores lower.
* ``ap_at_k``, the recall denominator of AP@k (only the top ``k`` items count):
  ``"min_k_relevant"`` (min(k, #relevant): SAKE, SBKA, ZSE-SBIR), ``"relevant_in_top_k"``
  (the relevant items inside the top k: sklearn's AP on the top-k list, Doodle2Search and
  SEM-PCYC style; 0 when there are none), ``"relevant"`` (#relevant: the truncated sum of
  classic IR), or ``"full_list"`` (AP over the whole gallery reported as @k, as one public
  evaluator does).
* ``precision``, P@k: ``"k"`` (relevant in the top k divided by k, or by the gallery size
  when it is smaller: SAKE, SBKA) or ``"min_k_relevant"`` (ZSE-SBIR: the fraction of relevant
  items among the top min(k, #relevant), so a query with 50 relevant photos is judged on 50).
* ``aggregate``: ``"query"`` (mean over queries) or ``"class"`` (mean over each class's
  queries, then over classes: the SBKA and SAKE test scripts).
* ``empty``, a query whose class has no gallery item: ``"zero"`` (AP and precision 0, counted
  in every mean) or ``"skip"`` (NaN, left out by ``nanmean``, as the public code's 0/0 is).

`PRESETS` names the published combinations; `PRESET_SOURCES` says where each was read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

AP_CONVENTIONS = ("voc", "sklearn")
AP_AT_K = ("min_k_relevant", "relevant_in_top_k", "relevant", "full_list")
PRECISION = ("k", "min_k_relevant")
AGGREGATE = ("query", "class")
EMPTY = ("zero", "skip")
DEFAULT_PRESET = "sbka_lite"


@dataclass(frozen=True)
class Convention:
    """One evaluation convention: how per-query AP and P@k are computed and averaged."""

    ap: str = "voc"
    ap_at_k: str = "min_k_relevant"
    precision: str = "k"
    aggregate: str = "query"
    empty: str = "zero"

    def __post_init__(self) -> None:
        for name, allowed in (("ap", AP_CONVENTIONS), ("ap_at_k", AP_AT_K), ("precision", PRECISION),
                              ("aggregate", AGGREGATE), ("empty", EMPTY)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


PRESETS: dict[str, Convention] = {
    # today's behaviour: VOC, query mean, empty queries count as 0
    "sbka_lite": Convention(),
    "sbka": Convention(aggregate="class", empty="skip"),
    "sake": Convention(aggregate="class", empty="skip"),
    "zse": Convention(precision="min_k_relevant", empty="skip"),
    "doodle2search": Convention(ap="sklearn", ap_at_k="relevant_in_top_k"),
    "sklearn": Convention(ap="sklearn", ap_at_k="relevant"),
}
PRESET_SOURCES = {
    "sbka_lite": "this project's default: VOC AP, mean over queries, a query without relevant items counts 0",
    "sbka": "zermatt-luo/SBKA src/utils/eval_tools.py (eval_AP_inner, VOCap, eval_precision) and "
            "src/test_sketchy_ext_zeroshot.py (nanmean per class, then mean over classes)",
    "sake": "qliu24/SAKE src/test_cse_resnet_sketchy_zeroshot.py: the same per-class nanmean and VOC arithmetic",
    "zse": "buptLinfy/ZSE-SBIR utils/ap.py (voc_eval, precision_eval over the top min(k, #relevant), nanmean "
           "over queries)",
    "doodle2search": "sounakdey/doodle2search src/test.py: sklearn average_precision_score per query, mean over "
                     "queries; mAP@200 as sklearn's AP on the top-200 list (NaN read as 0)",
    "sklearn": "scikit-learn average_precision_score per query, mean over queries; @k divides by #relevant",
}
_CUSTOMARY_AT_K = {"voc": "min_k_relevant", "sklearn": "relevant_in_top_k"}


def resolve(preset: str | None = None, **overrides: Any) -> tuple[str, Convention]:
    """(name, convention) of `preset` (default ``sbka_lite``) with any non-None `overrides` applied.

    The name becomes ``"<preset>+custom"`` when an override changes the preset. For backward
    compatibility, overriding ``ap`` alone also gives that AP's customary @k (VOC:
    min(k, #relevant); sklearn: the relevant items inside the top k).
    """
    name = DEFAULT_PRESET if preset is None else preset
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    base = PRESETS[name]
    valid = {f.name for f in fields(Convention)}
    unknown = set(overrides) - valid
    if unknown:
        raise ValueError(f"unknown convention(s) {sorted(unknown)}; choose from {sorted(valid)}")
    given = {key: value for key, value in overrides.items() if value is not None}
    if "ap" in given and "ap_at_k" not in given and given["ap"] != base.ap and given["ap"] in _CUSTOMARY_AT_K:
        given["ap_at_k"] = _CUSTOMARY_AT_K[given["ap"]]
    convention = Convention(**{**base.as_dict(), **given})
    return (name if convention == base else f"{name}+custom"), convention


# ----------------------------------------------------------------------------- per-chunk arithmetic
def _suffix_max(x: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(x[:, ::-1], axis=1)[:, ::-1]


def chunk_values(ranks: np.ndarray, n_le: np.ndarray, rel_le: np.ndarray, n_gallery: int,
                 ks: tuple[int, ...], conventions: list[Convention]) -> dict[tuple, np.ndarray]:
    """Per-row values keyed by what they depend on, for every convention at once.

    `ranks` are the 0-based ranks of a row's relevant items, ascending; `n_le` / `rel_le` the
    number of gallery / relevant items at most as far as each (sklearn's threshold counts).
    Keys: ``("ap_all", ap)``, ``("ap_k", ap, ap_at_k, k)``, ``("prec", precision, k)``.
    """
    n_rel = ranks.shape[1]
    rel_count = np.arange(1, n_rel + 1, dtype=np.float64)
    out: dict[tuple, np.ndarray] = {}
    precision = {"voc": rel_count / (ranks + 1.0), "sklearn": rel_le / n_le}
    for ap in {c.ap for c in conventions}:
        out[("ap_all", ap)] = (_suffix_max(precision[ap]).sum(1) / n_rel if ap == "voc"
                               else precision[ap].mean(1))
    for k in ks:
        top = min(k, n_gallery)
        in_top = ranks < top  # a prefix of each row, since ranks ascend
        n_in_top = in_top.sum(1)
        for ap, at_k in {(c.ap, c.ap_at_k) for c in conventions}:
            if at_k == "full_list":
                out[("ap_k", ap, at_k, k)] = out[("ap_all", ap)]
                continue
            if ap == "voc":
                summed = _suffix_max(np.where(in_top, precision["voc"], 0.0)).sum(1)
            else:  # sklearn's precision inside the top list: its counts restricted to that list
                summed = np.where(in_top, np.minimum(rel_le, n_in_top[:, None]) / np.minimum(n_le, top),
                                  0.0).sum(1)
            denominator = {"min_k_relevant": min(top, n_rel), "relevant": n_rel,
                           "relevant_in_top_k": np.maximum(n_in_top, 1)}[at_k]
            out[("ap_k", ap, at_k, k)] = summed / denominator
        for prec in {c.precision for c in conventions}:
            if prec == "k":
                out[("prec", prec, k)] = n_in_top / top
            else:  # the top min(k, #relevant) items, judged on their own count
                cut = min(top, n_rel)
                out[("prec", prec, k)] = (ranks < cut).sum(1) / cut
    return out


def per_query_names(ks: tuple[int, ...]) -> list[str]:
    return ["ap_all"] + [f"ap_{k}" for k in ks] + [f"prec_{k}" for k in ks]


def value_key(name: str, convention: Convention) -> tuple:
    """The `chunk_values` key that holds per-query metric `name` under `convention`."""
    if name == "ap_all":
        return ("ap_all", convention.ap)
    kind, k = name.split("_")
    if kind == "ap":
        return ("ap_k", convention.ap, convention.ap_at_k, int(k))
    return ("prec", convention.precision, int(k))


# ----------------------------------------------------------------------------- averaging
def aggregate(values: np.ndarray, query_codes: np.ndarray, empty_mask: np.ndarray,
              convention: Convention) -> tuple[np.ndarray, float]:
    """(per-query values as the convention reports them, their mean under the convention)."""
    values = values.astype(np.float64, copy=True)
    if convention.empty == "skip":
        values[empty_mask] = np.nan
    counted = ~np.isnan(values)
    if not counted.any():
        return values, float("nan")
    if convention.aggregate == "query":
        return values, float(values[counted].mean())
    _, codes = np.unique(query_codes[counted], return_inverse=True)
    per_class = np.bincount(codes, weights=values[counted]) / np.bincount(codes)
    return values, float(per_class.mean())
