"""A notebook's summary is worded by its numbers, and a test can re-check every claim."""
import pytest

from sbka_lite.tutorial.record import Recorder
from sbka_lite.tutorial.summary import Summary, check_claims


def test_the_wording_follows_the_numbers_and_the_claims_can_be_rechecked(tmp_path):
    record = Recorder(tmp_path)
    record.log(after={"map": 0.5}, before={"map": 0.4})
    summary = Summary(record)
    assert summary.compare("after.map", ">", "before.map", yes="rose to {left:.1f}", no="fell to {left:.1f}")
    assert not summary.compare("before.map", ">", 0.45, yes="above", no="not above ({left:.1f})")
    assert [c["text"] for c in summary.claims] == ["rose to 0.5", "not above (0.4)"]
    assert summary.claims[1]["op"] == "<="  # what was stated is the negation, and that is what is re-checked
    record.log(summary=summary.claims)
    assert check_claims(record.values) == []
    stale = {**record.values, "after": {"map": 0.3}}  # numbers changed, prose did not: caught
    assert check_claims(stale) and "rose to 0.5" in check_claims(stale)[0]


def test_a_missing_value_is_named():
    from sbka_lite.tutorial.summary import lookup

    assert lookup({"seen": {"map": 0.25}}, "seen.map") == 0.25 and lookup({}, 3) == 3.0
    with pytest.raises(KeyError, match="'unseen'"):
        lookup({"seen": {}}, "unseen.map")


@pytest.mark.parametrize("after, margin, outcome", [
    (0.7644, 0.0, "same"),       # tied: never "beat", whatever the margin
    (0.7650, 0.005, "same"),     # near-tied: a difference inside the margin
    (0.7650, "spread", "same"),  # the margin as a recorded spread over seeds
    (0.7800, 0.005, "higher"),
    (0.7500, "spread", "lower"),
])
def test_a_contrast_beats_only_beyond_its_margin(tmp_path, after, margin, outcome):
    record = Recorder(tmp_path)
    record.log(a={"map": after}, b={"map": 0.7644}, spread=0.01)
    summary = Summary(record)
    said = summary.contrast("a.map", "b.map", margin=margin, higher="A beat B: {left:.4f} against {right:.4f}",
                            lower="B beat A: {right:.4f} against {left:.4f}",
                            same="A and B are indistinguishable: {left:.4f} and {right:.4f} (within {margin:.3f})")
    assert said == outcome and summary.claims[0]["outcome"] == outcome
    assert ("indistinguishable" in summary.claims[0]["text"]) == (outcome == "same")
    record.log(summary=summary.claims)
    assert check_claims(record.values) == []
    moved = {**record.values, "a": {"map": 0.7644 + (0.05 if outcome != "higher" else -0.05)}}
    assert check_claims(moved), "a result that changed the outcome must be caught"


def test_a_negative_margin_is_refused(tmp_path):
    record = Recorder(tmp_path)
    record.log(a=1.0)
    with pytest.raises(ValueError, match="margin"):
        Summary(record).contrast("a", 0.5, margin=-0.1, higher="", lower="", same="")
