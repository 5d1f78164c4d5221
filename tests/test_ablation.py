"""The ablation runs every arm on the smoke benchmark, writes rows as it goes, and resumes."""
import json

import pytest

from sbka_lite import ablation


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_smoke_ablation_writes_rows_and_resumes(tmp_path):
    out = tmp_path / "ablation.json"
    rows = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False,
                                 arms=("frozen", "finetune", "bidirectional", "bidirectional_cluster"))
    assert {r["arm"] for r in rows} == {"frozen", "finetune", "bidirectional", "bidirectional_cluster"}
    saved = json.loads(out.read_text())
    assert len(saved["runs"]) == 4 and saved["meta"]["ap"] == "voc"
    for row in saved["runs"]:
        assert 0.0 <= row["map_all"] <= 1.0 and 0.0 <= row["prec_100"] <= 1.0
    cluster = next(r for r in rows if r["arm"] == "bidirectional_cluster")
    assert cluster["n_subspaces"] in (2, 4)
    again = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False,
                                  arms=("frozen", "finetune", "bidirectional", "bidirectional_cluster"))
    assert again == rows  # nothing recomputed
    assert "| bidirectional |" in ablation.markdown_table(rows)


def test_unknown_arm_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown arm"):
        ablation.run_ablation(tmp_path / "x.json", arms=("frozen", "magic"))
