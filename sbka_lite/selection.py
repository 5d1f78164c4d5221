"""Which epoch becomes ``best.pt``: the selection rules, on held-out **seen**-class sketches only.

``official`` (the SBKA scripts): a phase-2 epoch whose held-out accuracy is above every earlier epoch's,
warm-up included; ``best``: the best epoch so far; ``last``: the latest. Accuracy ties are broken by the
lower validation loss (a small validation set saturates at convergence). When a rule picks nothing by the
last epoch, the run still ends in a model: the last epoch, with `FALLBACK_REASON` in its record.
Unseen classes are never read here.
"""
from __future__ import annotations

from typing import Sequence

FALLBACK_REASON = {"official": "no phase-2 epoch beat every earlier one on held-out seen sketches",
                   "best": "no epoch had a validation score"}


def selection_key(row: dict) -> tuple[float, float] | None:
    """What selection compares: held-out accuracy, then the negated validation loss (ties go to the
    lower loss; a row without a loss ranks below any with one at the same accuracy)."""
    if row.get("val_acc") is None:
        return None
    loss = row.get("val_loss")
    return (float(row["val_acc"]), -float(loss) if loss is not None else float("-inf"))


def selects(rule: str, epoch: int, row: dict, *, earlier: Sequence[dict], best: dict, warmup_epochs: int) -> bool:
    """Whether epoch `epoch` (its `row` of validation scores) replaces `best` under `rule`; `earlier` are
    the rows of the epochs before it."""
    key = selection_key(row)
    if rule == "last" or key is None:  # nothing to select on: keep the latest
        return True
    if rule == "official":  # phase-2 epochs only, and only above every earlier epoch, warm-up included
        keys = [selection_key(r) for r in earlier]
        return epoch >= warmup_epochs and all(key > value for value in keys if value is not None)
    best_key = selection_key(best)
    return best["epoch"] is None or best_key is None or key > best_key
