"""How good a folder search is when the photos' classes are known: precision@k per query class."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

from .engine import SearchHit


class ClassPrecision(NamedTuple):
    """One query class: the share of its top-k photos of that class, against what chance gives."""

    query_class: str
    precision_at_k: float
    chance: float          # photos of the class / gallery size: the expected precision of a random ranking
    ceiling: float         # min(k, photos of the class) / k: the best any ranking can do
    most_retrieved: str    # the class most frequent among the hits (ties: the best-ranked one)
    k: int


def folder_class(path: str | Path) -> str:
    """A photo's class as its folder's name (the layout of a benchmark's photo folder)."""
    return Path(path).parent.name


def precision_at_k_by_class(hits: Mapping[str, Sequence[SearchHit]], gallery: Sequence[str | Path], *,
                            class_of: Callable[[str | Path], str] = folder_class) -> list[ClassPrecision]:
    """Precision@k of one ranked hit list per query class, best first (ties by class name).

    Args:
        hits: query class -> the hits its sketch retrieved (k = their number).
        gallery: every photo searched (e.g. ``search.paths``), for the chance level.
        class_of: a photo's class; default its folder name.

    Raises:
        ValueError: a query class with no hits, or with no photo in the gallery (naming it).
    """
    counts = Counter(class_of(path) for path in gallery)
    rows = []
    for name, ranked in hits.items():
        if not ranked:
            raise ValueError(f"the query of class {name!r} retrieved no photos")
        if counts[name] == 0:
            raise ValueError(f"class {name!r} has no photo in the gallery of {len(gallery)}: its precision means nothing")
        classes = [class_of(hit.path) for hit in ranked]
        tally = Counter(classes)
        most = max(tally, key=lambda c: (tally[c], -classes.index(c)))
        k = len(classes)
        rows.append(ClassPrecision(name, tally[name] / k, counts[name] / len(gallery), min(k, counts[name]) / k, most, k))
    return sorted(rows, key=lambda row: (-row.precision_at_k, row.query_class))
