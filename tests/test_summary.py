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
