"""A notebook's closing summary, written from its recorded numbers so it cannot go stale.

Each statement compares two recorded values (dotted paths into ``results.json``, or a number) and
is worded by which way the comparison came out: the prose follows the numbers, never the other
way round. The statements are recorded with their paths, so a test can re-check every one of them
against ``results.json`` (`check_claims`)::

    summary = Summary(record)
    summary.compare("unseen_after.map_all", ">", "unseen_before.map_all",
                    yes="Training raised unseen mAP@all from {right:.3f} to {left:.3f}.",
                    no="Training did not raise unseen mAP@all ({right:.3f} -> {left:.3f}).")
    summary.show()

Two measured values that may differ by noise are worded with `contrast`: "higher" or "lower" only
when they differ by more than a margin (their spread over seeds, or a stated tolerance for a single
run), otherwise "indistinguishable", with both numbers.
"""
from __future__ import annotations

import math
import operator
from typing import Any

# A single run has no spread to compare with: unseen mAP of one run moves about this much between seeds
# (fine-tuning's sd over 3 seeds is 0.006-0.025 in results/ablation_synthetic*.json), so a smaller
# difference between two single runs is not worded as one beating the other.
SINGLE_RUN_TOLERANCE = 0.01
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def lookup(results: dict, path: str | float | int) -> float:
    """The value at a dotted `path` of `results` (``"unseen_after.map_all"``), or `path` itself if a number."""
    if isinstance(path, (int, float)):
        return float(path)
    value: Any = results
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{path!r}: no {part!r} in the recorded results (have {sorted(value) if isinstance(value, dict) else value!r})")
        value = value[part]
    return float(value)


class Summary:
    """Statements about a notebook's recorded numbers; `show` renders them as Markdown."""

    def __init__(self, record) -> None:
        self.record = record
        self.claims: list[dict[str, Any]] = []

    def compare(self, left: str | float, op: str, right: str | float, *, yes: str, no: str) -> bool:
        """Record ``left op right`` worded `yes` when it holds, `no` when it does not (both may use
        ``{left}`` and ``{right}``). Returns whether it held."""
        if op not in OPS:
            raise ValueError(f"op must be one of {sorted(OPS)}, got {op!r}")
        a, b = lookup(self.record.values, left), lookup(self.record.values, right)
        holds = OPS[op](a, b)
        text = (yes if holds else no).format(left=a, right=b)
        self.claims.append({"text": text, "left": left, "op": op if holds else NEGATED[op], "right": right})
        return holds

    def contrast(self, left: str | float, right: str | float, *, margin: str | float, higher: str, lower: str,
                 same: str) -> str:
        """Word ``left`` against ``right`` three ways: `higher` / `lower` only when they differ by more than
        `margin` (a number or a recorded path: a spread over seeds, or a stated tolerance such as
        `SINGLE_RUN_TOLERANCE`), else `same`. Each text may use ``{left}``, ``{right}``, ``{diff}`` and
        ``{margin}``. Returns the outcome ("higher", "lower" or "same")."""
        a, b, m = (lookup(self.record.values, value) for value in (left, right, margin))
        if not (math.isfinite(m) and m >= 0):
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r} = {m}")
        outcome = _outcome(a, b, m)
        text = {"higher": higher, "lower": lower, "same": same}[outcome].format(left=a, right=b, diff=a - b, margin=m)
        self.claims.append({"text": text, "left": left, "right": right, "margin": margin, "outcome": outcome})
        return outcome

    def note(self, text: str) -> None:
        """A statement with no number to check (a pointer to the next notebook, say)."""
        self.claims.append({"text": text})

    def markdown(self) -> str:
        return "**What this notebook showed** (from its recorded numbers):\n\n" + "\n".join(f"- {c['text']}" for c in self.claims)

    def show(self) -> None:
        """Display the summary and record it (``summary`` in results.json)."""
        from IPython.display import Markdown, display  # noqa: PLC0415  (only where a notebook shows it)

        self.record.log(summary=self.claims)
        display(Markdown(self.markdown()))


def _outcome(left: float, right: float, margin: float) -> str:
    difference = left - right
    return "higher" if difference > margin else "lower" if difference < -margin else "same"


def check_claims(results: dict) -> list[str]:
    """The recorded statements that do not hold in `results` (empty: every one holds)."""
    wrong = []
    for claim in results.get("summary", []):
        if "outcome" in claim:
            a, b, m = (lookup(results, claim[key]) for key in ("left", "right", "margin"))
            if not all(math.isfinite(v) for v in (a, b, m)) or _outcome(a, b, m) != claim["outcome"]:
                wrong.append(f"{claim['text']!r}: {claim['left']} = {a} against {claim['right']} = {b} with margin "
                             f"{m} is {_outcome(a, b, m) if math.isfinite(a - b) else 'not a number'}, "
                             f"not {claim['outcome']}")
            continue
        if "op" not in claim:
            continue
        a, b = lookup(results, claim["left"]), lookup(results, claim["right"])
        if not (math.isfinite(a) and math.isfinite(b) and OPS[claim["op"]](a, b)):
            wrong.append(f"{claim['text']!r}: {claim['left']} = {a} is not {claim['op']} {claim['right']} = {b}")
    return wrong
