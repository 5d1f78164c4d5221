"""sbka_lite.selection: which epoch becomes best.pt (end-to-end cases with rigged validation: test_interruptions_and_failures)."""
from sbka_lite.selection import selection_key, selects

NONE = {"epoch": None, "val_acc": None}


def rows(*scores):
    return [{"epoch": e, "val_acc": acc, "val_loss": loss} for e, (acc, loss) in enumerate(scores)]


def test_ties_in_accuracy_go_to_the_lower_loss():
    assert selection_key({"val_acc": 0.9, "val_loss": 0.2}) > selection_key({"val_acc": 0.9, "val_loss": 0.3})
    assert selection_key({"val_acc": 0.9, "val_loss": 0.2}) > selection_key({"val_acc": 0.9, "val_loss": None})
    assert selection_key({"val_acc": None}) is None


def test_official_takes_only_phase_two_epochs_above_every_earlier_one():
    history = rows((0.5, 1.0), (0.9, 0.3), (0.8, 0.2), (0.9, 0.25))
    best = dict(history[1])
    # epoch 2 is in phase 2 (warm-up 2) but below epoch 1: not selected; epoch 3 ties epoch 1 at a lower loss
    assert not selects("official", 2, history[2], earlier=history[:2], best=NONE, warmup_epochs=2)
    assert selects("official", 3, history[3], earlier=history[:3], best=NONE, warmup_epochs=2)
    # the same epoch inside the warm-up never counts, however good
    assert not selects("official", 1, history[1], earlier=history[:1], best=NONE, warmup_epochs=2)
    # "best" compares with the best so far only, phases aside
    assert selects("best", 1, history[1], earlier=history[:1], best=dict(history[0]), warmup_epochs=2)
    assert not selects("best", 2, history[2], earlier=history[:2], best=best, warmup_epochs=2)


def test_without_a_score_the_latest_epoch_is_kept():
    assert selects("official", 0, {"epoch": 0, "val_acc": None}, earlier=[], best=NONE, warmup_epochs=5)
    assert selects("last", 0, rows((0.1, 9.0))[0], earlier=rows((0.9, 0.1)), best=NONE, warmup_epochs=0)
