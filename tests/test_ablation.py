"""The ablation runs every arm on the smoke benchmark, writes rows as it goes, and resumes."""
import json

import pytest

from sbka_lite import ablation
from sbka_lite.experiments import ablation as experiments


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_smoke_ablation_writes_rows_and_resumes(tmp_path):
    out = tmp_path / "ablation.json"
    rows = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False,
                                 arms=("frozen", "finetune", "bidirectional+gaussian", "sbka_cluster"))
    assert {r["arm"] for r in rows} == {"frozen", "finetune", "bidirectional+gaussian", "sbka_cluster"}
    saved = json.loads(out.read_text())
    assert len(saved["runs"]) == 4 and saved["meta"]["ap"] == "voc"
    for row in saved["runs"]:
        assert 0.0 <= row["map_all"] <= 1.0 and 0.0 <= row["prec_100"] <= 1.0
    cluster = next(r for r in rows if r["arm"] == "sbka_cluster")
    assert cluster["n_subspaces"] in (2, 4)
    again = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False,
                                  arms=("frozen", "finetune", "bidirectional+gaussian", "sbka_cluster"))
    assert again == rows  # nothing recomputed
    assert "| bidirectional+gaussian |" in ablation.markdown_table(rows)


def test_unknown_arm_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown arm"):
        ablation.run_ablation(tmp_path / "x.json", arms=("frozen", "magic"))


def _fake_cell(calls, fail=()):
    """Stands in for training: records which cells ran and gives rows with a recognisable score."""
    def cell(arm, seed, wanted, **kwargs):
        calls.append((arm, seed))
        if (arm, seed) in fail:
            raise RuntimeError(f"cell {arm} seed {seed} broke")
        return [{"arm": a, "seed": seed, "map_all": 0.1 * seed + 0.01 * ablation.KNOWN_ARMS.index(a),
                 "map_200": 0.0, "prec_100": 0.0, "prec_200": 0.0} for a in wanted]
    return cell


def test_failed_cell_keeps_the_other_rows_and_only_it_reruns(tmp_path, monkeypatch, capsys):
    out, arms, calls = tmp_path / "a.json", ("finetune", "bidirectional+gaussian", "sbka_cluster"), []
    monkeypatch.setattr(experiments, "run_ablation_cell", _fake_cell(calls, fail={("finetune", 1)}))
    rows = ablation.run_ablation(out, seeds=(1, 0), smoke=True, workdir=tmp_path / "w", arms=arms, progress=False)
    assert "cell finetune-seed1 failed: RuntimeError: cell finetune seed 1 broke" in capsys.readouterr().err
    assert ablation.missing(rows, (0, 1), arms) == [("finetune", 1)]
    saved = json.loads(out.read_text())["runs"]
    assert [(r["arm"], r["seed"]) for r in saved] == [  # seed by seed, arms in their order, whatever ran first
        ("finetune", 0), ("bidirectional+gaussian", 0), ("sbka_cluster", 0), ("bidirectional+gaussian", 1),
        ("sbka_cluster", 1)]
    calls.clear()
    monkeypatch.setattr(experiments, "run_ablation_cell", _fake_cell(calls))
    again = ablation.run_ablation(out, seeds=(0, 1), smoke=True, workdir=tmp_path / "w", arms=arms, progress=False)
    assert calls == [("finetune", 1)] and ablation.missing(again, (0, 1), arms) == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_frozen_arm_gives_the_same_json_on_submitit_local_and_leaves_rows_a_resume_harvests(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    from sbka_lite.experiments.executors import ExecutorConfig

    kwargs = dict(seeds=(0, 1), smoke=True, arms=("frozen",), progress=False)
    ablation.run_ablation(tmp_path / "local.json", workdir=tmp_path / "local", **kwargs)
    jobs = ExecutorConfig("submitit-local", poll_s=0.2, time_min=5)
    ablation.run_ablation(tmp_path / "jobs.json", workdir=tmp_path / "jobs", executor=jobs, **kwargs)
    assert (tmp_path / "jobs.json").read_text() == (tmp_path / "local.json").read_text()
    # the submitter "died" before merging: the cells' own files are enough, nothing is recomputed
    (tmp_path / "jobs.json").unlink()
    monkeypatch.setattr(experiments, "run_ablation_cell", _fake_cell([], fail={("frozen", 0), ("frozen", 1)}))
    ablation.run_ablation(tmp_path / "jobs.json", workdir=tmp_path / "jobs", **kwargs)
    assert (tmp_path / "jobs.json").read_text() == (tmp_path / "local.json").read_text()
