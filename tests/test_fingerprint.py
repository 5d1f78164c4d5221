"""The training fingerprint holds: each arm of `tests/fingerprint.py` trains as the committed baseline says.

The guard of issue 21's restructure ("a fixed-seed smoke run gives identical losses before and
after"). A failure here means training changed. If that was *meant*, refresh the baseline with
``python tests/fingerprint.py --write tests/data/training_fingerprint.json`` and say so in the
commit; if it was not, the restructure changed the maths.
"""
import copy
import json
import warnings

import pytest

from fingerprint import ARMS, BASELINE, compare, fingerprint


@pytest.fixture(scope="module")
def baseline():
    return json.loads(BASELINE.read_text())["arms"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fingerprint")  # the fake benchmark is drawn once, shared by the arms


def test_the_baseline_records_every_arm(baseline):
    assert list(baseline) == list(ARMS), "arms added, removed or renamed: refresh the baseline (and say why)"
    for arm, recorded in baseline.items():
        assert recorded["overrides"] == ARMS[arm], f"{arm}: its overrides changed since the baseline was written"


def test_compare_notices_a_small_change(baseline):
    # the comparison itself: a 3e-5 relative change of one loss, or of the weights, is a difference
    recorded = baseline["bidirectional"]
    assert compare(copy.deepcopy(recorded), recorded) == []
    changed = copy.deepcopy(recorded)
    changed["steps"][-1]["loss_ka_teacher"] *= 1 + 3e-5
    assert compare(changed, recorded) == [f"steps[5] loss_ka_teacher: expected {recorded['steps'][-1]['loss_ka_teacher']!r}, "
                                          f"found {changed['steps'][-1]['loss_ka_teacher']!r}"]
    changed = copy.deepcopy(recorded)
    changed["teacher"]["sum_sq"] *= 1 + 3e-5
    assert compare(changed, recorded) and "teacher weights: sum_sq" in compare(changed, recorded)[0]
    changed = copy.deepcopy(recorded)
    changed["steps"][0]["loss_ka_teacher"] = 0.0  # a term that switched on in phase 1
    assert compare(changed, recorded)


@pytest.mark.parametrize("arm", list(ARMS))
def test_arm_trains_as_the_baseline_says(arm, baseline, scratch):
    found = fingerprint(arm, scratch)
    problems = compare(found, baseline[arm])
    assert not problems, f"arm {arm} ({ARMS[arm]}) trains differently from the baseline:\n  " + "\n  ".join(problems[:20])
    for model in ("student", "teacher"):
        if found[model] and found[model]["sha256"] != baseline[arm][model]["sha256"]:
            # Informative only: the bytes differ across CPUs/BLAS builds even when the training is the same.
            warnings.warn(f"{arm}: the final {model} weights match the baseline's summary but not its sha256 "
                          "(expected on another machine or torch build)", stacklevel=1)
