"""sbka_lite.ownership: a tool overwrites or deletes only what it wrote and nobody changed since."""
import json

import pytest

from sbka_lite.ownership import MANIFEST, NotOurs, claim


def test_a_missing_or_empty_folder_is_free_and_the_tools_own_output_needs_no_force(tmp_path):
    assert claim(tmp_path / "missing", "sweep").files == {}
    owned = claim(tmp_path, "sweep")
    owned.write_all({"a.json": b"1", "cell/b.json": b"2"})
    again = claim(tmp_path, "sweep")  # the rerun
    assert set(again.files) == {"a.json", "cell/b.json"} and again.is_ours("cell/b.json")
    assert json.loads((tmp_path / MANIFEST).read_text())["tool"] == "sweep"


def test_foreign_edited_and_another_tools_files_are_refused_by_name(tmp_path):
    claim(tmp_path, "sweep").write_all({"a.json": b"1", "b.json": b"2"})
    (tmp_path / "b.json").write_bytes(b"edited")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotOurs, match=r"notes\.txt \(not written by 'sweep'\); b\.json \(changed since.*--force"):
        claim(tmp_path, "sweep")
    with pytest.raises(NotOurs, match=r"a\.json, b\.json, notes\.txt \(written by 'sweep', not by 'ablation'\)"):
        claim(tmp_path, "ablation")
    # only the planned paths count, and one already holding the planned bytes loses nothing
    claim(tmp_path, "sweep", planned={"a.json": b"1", "c.json": b"3"})
    claim(tmp_path, "sweep", planned={"b.json": b"edited"})
    with pytest.raises(NotOurs, match="b.json"):
        claim(tmp_path, "sweep", planned={"b.json": b"new"})
    assert claim(tmp_path, "sweep", force=True, planned={"b.json": b"new"}).write_all({"b.json": b"new"})
    assert (tmp_path / "b.json").read_bytes() == b"new"


def test_remove_deletes_only_unchanged_files_the_tool_wrote(tmp_path):
    owned = claim(tmp_path, "sweep")
    owned.write_all({"old.json": b"1", "edited.json": b"2"})
    (tmp_path / "edited.json").write_bytes(b"mine now")
    (tmp_path / "foreign.txt").write_text("mine")
    owned = claim(tmp_path, "sweep", planned={})
    assert owned.remove(["old.json", "edited.json", "foreign.txt"]) == ["old.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "edited.json", "foreign.txt"]
    assert owned.files == {}  # the edited file is the user's now
