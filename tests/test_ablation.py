"""The ablation runs every arm on the smoke benchmark, writes rows as it goes, and resumes."""
import json

import pytest

from sbka_lite.experiments import ablation
from sbka_lite.config import training_config


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_smoke_ablation_writes_rows_and_resumes(tmp_path):
    out = tmp_path / "ablation.json"
    arms = ("frozen", "finetune", "one_way", "bidirectional", "finetune@2x")
    rows = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False, arms=arms)
    assert {r["arm"] for r in rows} == set(arms)
    saved = json.loads(out.read_text())
    assert len(saved["runs"]) == 5 and saved["meta"]["ap"] == "voc"
    assert saved["meta"]["budget"]["recipe"]["phase2_share"] == pytest.approx(0.0307, abs=1e-3)
    for row in saved["runs"]:  # every arm evaluated both ways
        assert 0.0 <= row["map_all"] <= 1.0 and 0.0 <= row["prec_100"] <= 1.0 and 0.0 <= row["cluster_map_all"] <= 1.0
        assert row["n_subspaces"] in (2, 4)
    by = {r["arm"]: r for r in rows}
    # one-way and bidirectional branched from one warm-up: the same phase 1, step for step
    one_way, both = by["one_way"]["curve"], by["bidirectional"]["curve"]
    warm = training_config(True).warmup_epochs
    assert one_way[:warm] == both[:warm] and len(one_way) == len(both) == training_config(True).epochs
    assert by["finetune@2x"]["steps_per_epoch"] == 2 * by["finetune"]["steps_per_epoch"]
    assert (tmp_path / "runs" / "runs" / "distill-warmup-seed0" / "last.pt").is_file()
    assert "| finetune, 0 |" in ablation.markdown_table(rows)  # the convergence check's row
    again = ablation.run_ablation(out, seeds=(0,), smoke=True, workdir=tmp_path / "runs", progress=False, arms=arms)
    assert again == rows  # nothing recomputed
    assert "| bidirectional |" in ablation.markdown_table(rows)


def test_unknown_arm_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown arm"):
        ablation.run_ablation(tmp_path / "x.json", arms=("frozen", "magic"))


def _fake_cell(calls, fail=()):
    """Stands in for training: records which cells ran and gives rows with a recognisable score."""
    def cell(name, seed, wanted, **kwargs):
        calls.append((name, seed))
        if (name, seed) in fail:
            raise RuntimeError(f"cell {name} seed {seed} broke")
        return [{"arm": a, "seed": seed, "map_all": 0.1 * seed + 0.01 * ablation.KNOWN_ARMS.index(a),
                 "map_200": 0.0, "prec_100": 0.0, "prec_200": 0.0} for a in wanted]
    return cell


def test_failed_cell_keeps_the_other_rows_and_only_it_reruns(tmp_path, monkeypatch, capsys):
    out, arms, calls = tmp_path / "a.json", ("finetune", "bidirectional+gaussian", "sbka_tgrad"), []
    monkeypatch.setattr(ablation, "run_ablation_cell", _fake_cell(calls, fail={("finetune", 1)}))
    rows = ablation.run_ablation(out, seeds=(1, 0), smoke=True, workdir=tmp_path / "w", arms=arms, progress=False)
    assert "cell finetune-seed1 failed: RuntimeError: cell finetune seed 1 broke" in capsys.readouterr().err
    assert ablation.missing(rows, (0, 1), arms) == [("finetune", 1)]
    saved = json.loads(out.read_text())["runs"]
    assert [(r["arm"], r["seed"]) for r in saved] == [  # seed by seed, arms in their order, whatever ran first
        ("finetune", 0), ("bidirectional+gaussian", 0), ("sbka_tgrad", 0), ("bidirectional+gaussian", 1),
        ("sbka_tgrad", 1)]
    calls.clear()
    monkeypatch.setattr(ablation, "run_ablation_cell", _fake_cell(calls))
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
    monkeypatch.setattr(ablation, "run_ablation_cell", _fake_cell([], fail={("frozen", 0), ("frozen", 1)}))
    ablation.run_ablation(tmp_path / "jobs.json", workdir=tmp_path / "jobs", **kwargs)
    assert (tmp_path / "jobs.json").read_text() == (tmp_path / "local.json").read_text()


# ----------------------------------------------------------------------------- the report: convergence and verdicts

from sbka_lite.experiments.ablation_report import (  # noqa: E402
    convergence_checks,
    convergence_status,
    still_rising,
    verdict,
)

FLAT = [0.80, 0.95, 0.985, 0.990, 0.991]
STARVED_ONE_WAY = [0.606, 0.711, 0.736, 0.741]  # one-way under the 4 x 30 recipe (mean of 3 seeds): still learning


def _row(arm, seed, score, accuracy=FLAT, steps=36):
    curve = [{"epoch": e, "val_acc": a} for e, a in enumerate(accuracy)]
    return {"arm": arm, "seed": seed, "map_all": score, "cluster_map_all": score + 0.05, "prec_100": 0.3,
            "val_acc": accuracy[-1], "steps_per_epoch": steps, "curve": curve}


def _verdicts(rows, metric="map_all"):
    return {(d["arm"], d["reference"]): d["verdict"] for d in verdict(rows, metric=metric)}


def test_an_arm_whose_accuracy_still_rises_is_not_converged_and_gets_no_verdict():
    assert still_rising(_row("x", 0, 0.5, STARVED_ONE_WAY)["curve"]) is True  # 0.711 -> 0.741
    assert still_rising(_row("x", 0, 0.5)["curve"]) is False  # 0.985 -> 0.991
    assert still_rising(_row("x", 0, 0.5, [0.5, 0.6])["curve"]) is None
    rows = [_row("finetune", s, 0.86 + 0.001 * s) for s in range(3)]
    rows += [_row("one_way", s, 0.76 + 0.001 * s, STARVED_ONE_WAY) for s in range(3)]
    status = convergence_status(rows)
    assert status["one_way"]["converged"] is False and status["finetune"]["converged"] is True
    assert _verdicts(rows)[("one_way", "finetune")].startswith("not converged (one_way)")
    assert "no: still rising" in ablation.markdown_table(rows)


def test_verdicts_need_every_seed_a_margin_beyond_the_spread_and_three_seeds():
    base = [_row("finetune", s, 0.80 + 0.01 * s) for s in range(3)]
    clear = [_row("one_way", s, 0.80 + 0.01 * s + 0.02 + 0.001 * s) for s in range(3)]
    tiny = [_row("one_way", s, 0.80 + 0.01 * s + 0.002) for s in range(3)]  # ahead everywhere, below tolerance
    mixed = [_row("one_way", s, 0.80 + 0.01 * s + d) for s, d in enumerate((0.03, -0.01, 0.02))]
    tied = [_row("one_way", s, 0.80 + 0.01 * s) for s in range(3)]
    behind = [_row("one_way", s, 0.80 + 0.01 * s - 0.03) for s in range(3)]
    assert _verdicts(base + clear)[("one_way", "finetune")] == "better"
    assert _verdicts(base + behind)[("one_way", "finetune")] == "worse"
    for rows in (base + tiny, base + mixed, base + tied):
        assert _verdicts(rows)[("one_way", "finetune")] == "indistinguishable"
    assert _verdicts(base[:2] + clear[:2])[("one_way", "finetune")].startswith("too few seeds")
    # cluster matching is judged on its own column, by the same rule
    assert _verdicts(base + clear, "cluster_map_all")[("one_way", "finetune")] == "better"


def test_rows_that_started_from_different_weights_are_never_paired():
    base = [{**_row("finetune", s, 0.80 + 0.01 * s), "start": "photo_world:aaa"} for s in range(3)]
    clear = [{**_row("one_way", s, 0.82 + 0.01 * s), "start": "photo_world:aaa"} for s in range(3)]
    assert _verdicts(base + clear)[("one_way", "finetune")] == "better"
    clear[0]["start"] = "photo_world:bbb"  # seed 0's one-way began from another photo world
    assert _verdicts(base + clear)[("one_way", "finetune")].startswith("too few seeds (2 < 3)")
    for row in base + clear:  # rows that do not record it are paired as before
        row.pop("start")
    assert _verdicts(base + clear)[("one_way", "finetune")] == "better"


def test_the_2x_check_marks_an_arm_that_twice_the_steps_still_moves():
    rows = [_row("finetune", s, 0.86) for s in range(3)] + [_row("one_way", s, 0.80) for s in range(3)]
    rows += [_row("finetune@2x", 0, 0.865, steps=72), _row("one_way@2x", 0, 0.83, steps=72)]
    checks = convergence_checks(rows).set_index("arm")
    assert checks.loc["finetune", "converged"] and not checks.loc["one_way", "converged"]
    assert checks.loc["one_way", "moved_map_all"] == pytest.approx(0.03)
    status = convergence_status(rows)
    assert status["finetune"]["converged"] is True and "2x checked" in status["finetune"]["text"]
    assert status["one_way"]["converged"] is False and "2x check moved it" in status["one_way"]["text"]
    assert _verdicts(rows)[("one_way", "finetune")].startswith("not converged")
    # bidirectional branches from one-way's warm-up on the same student schedule: one-way's check is its check
    rows += [_row("bidirectional", s, 0.80) for s in range(3)] + [_row("one_way+gaussian", s, 0.79) for s in range(3)]
    status = convergence_status(rows)
    assert status["bidirectional"]["converged"] is False and "2x check of one_way" in status["bidirectional"]["text"]
    assert status["one_way+gaussian"]["text"] == "yes (curve flat, not 2x-checked)"


def test_rows_of_an_older_meta_stay_valid_when_a_newer_key_sits_at_its_default():
    meta = ablation._meta(True)
    older = {**meta, "config": {k: v for k, v in meta["config"].items() if k != "train_classes"}}
    assert ablation.same_recipe(older, meta)  # the key is newer than those rows and changes nothing
    assert not ablation.same_recipe(older, ablation._meta(True, "few_seen"))  # the variant does change it
    changed = {**meta, "config": {**meta["config"], "lr": 1.0}}
    assert not ablation.same_recipe(changed, meta) and not ablation.same_recipe(None, meta)
    assert ablation.recipe(True, "few_seen").train_classes == 8
    assert ablation.default_out("few_seen") != ablation.default_out()


def test_forgetting_is_the_drop_from_the_peak_and_needs_it_beyond_the_spread():
    from sbka_lite.experiments.ablation_report import forgetting

    def row(arm, seed, curve):
        return {"arm": arm, "seed": seed, "map_all": curve[-1], "curve": [
            {"epoch": e, "val_acc": 0.9, "unseen_map_diagnostic": v} for e, v in enumerate(curve)]}

    rows = [row("falls", s, [0.70, 0.80 + 0.001 * s, 0.74, 0.72]) for s in range(3)]
    rows += [row("flat", s, [0.70, 0.80, 0.799, 0.798 + 0.001 * s]) for s in range(3)]
    table = forgetting(rows).set_index("arm")
    assert table.loc["falls", "drop"] == pytest.approx(0.081) and table.loc["falls", "peak_epoch"] == 1
    assert table.loc["falls", "forgets"] and not table.loc["flat", "forgets"]
    assert forgetting(rows[:1]).set_index("arm").loc["falls", "forgets"] is None  # one seed: no spread to judge
