"""Every notebook runs top to bottom under papermill in smoke mode, and records sane figures.

(nbmake runs them too, through `make test`'s `--nbmake notebooks`.) Each notebook writes
`<WORKDIR>/<notebook stem>/results.json`; the checks below assert on those values.
"""
import json
import math
import time

import papermill as pm
import pytest

from sbka_lite.tutorial.notebooks import notebook_paths, run_notebook
from sbka_lite.tutorial.series import run_dir

NOTEBOOKS = notebook_paths()


def _unit(x):
    return isinstance(x, (int, float)) and 0.0 <= x <= 1.0 and not math.isnan(x)


def check_01(r):
    assert r["n_seen"] + r["n_unseen"] == r["n_classes"] >= 40
    assert 0.15 <= r["n_unseen"] / r["n_classes"] <= 0.3
    assert r["leakage_overlap"] == {"images": 0, "classes": 0} and r["leaky_copy_rejected"] is True
    assert r["corrupt_images"] == 0 and r["checked_images"] > 0
    assert r["counts"]["zero"]["sketch"] > 0 and r["counts"]["zero"]["photo"] > 0
    assert r["generation_seconds"] >= 0


def check_02(r):
    assert set(r["gap"]) == {"pretrained", "trained (SBKA)"}
    for report in r["gap"].values():
        assert 0.0 <= report["centroid_distance"] <= 2.0
        assert _unit(report["modality_probe_accuracy"])
        assert all(_unit(v) for v in report["retrieval_map"].values())
        assert report["same_to_different_ratio"] > 0
    assert r["n_sketches"] > 0 and r["n_photos"] > 0


def check_03(r):
    assert r["steps"] > 0 and r["best_epoch"] is not None
    assert _unit(r["best_val_acc"])
    for key in ("map_all", "map_200", "prec_100", "prec_200"):
        assert _unit(r["unseen_before"][key]) and _unit(r["unseen_after"][key])
    assert all(math.isfinite(v) for v in r["final_losses"].values() if v is not None)
    assert r["final_losses"]["loss_ka_teacher"] is not None  # phase 2 ran in the smoke schedule too
    assert r["checkpoint"].endswith(".pt")


def check_04(r):
    for key in ("one_to_one", "cluster_label_free", "cluster_upper_bound"):
        assert all(_unit(v) for v in r[key].values()), key
    assert "upper bound" in r["upper_bound_label"] and r["preset"] == "sbka_lite"
    # the test-tuned grid holds the label-free choice (same candidates, same seed), so it cannot score lower
    assert r["cluster_upper_bound"]["map_all"] >= r["cluster_label_free"]["map_all"] - 1e-9
    assert r["chosen"]["n_subspaces"] in (2, 4)
    # one label-free K rule: both choices come from the candidates the notebook recorded
    assert r["chosen"]["n_components"] in r["candidates"] and r["upper_bound_choice"]["n_components"] in r["candidates"]
    assert max(r["candidates"]) <= max(2, r["n_gallery"] // 4)
    per_class = r["per_class_ap"]
    assert set(per_class["one_to_one"]) == set(per_class["cluster"])
    # the per-class figure is the class-balanced mAP's ingredients (the SBKA preset averages them)
    one_to_one_classes = list(per_class["one_to_one"].values())
    assert math.isclose(sum(one_to_one_classes) / len(one_to_one_classes), r["one_to_one_class_mean"], abs_tol=1e-9)


def check_05(r):
    assert r["n_runs"] >= 2 and r["n_ok"] == r["n_runs"]
    for row in r["sweep"]:
        assert _unit(row["one-to-one mAP"]) and _unit(row["cluster mAP"]) and _unit(row["upper bound mAP"])
        assert row["upper bound mAP"] >= row["cluster mAP"] - 1e-9 or row["N_COMPONENTS"] != 0


def check_06(r):
    assert r["gallery_size"] > 0 and r["k"] >= 1
    assert set(r["precision_at_k"]) and all(_unit(v) for v in r["precision_at_k"].values())
    assert r["precision_at_k"][r["best_class"]] >= r["precision_at_k"][r["worst_class"]]
    assert _unit(r["mean_precision_at_k"])


def check_07(r):
    presets = r["presets"]
    assert set(presets) >= {"sbka_lite", "sbka", "sake", "zse", "doodle2search", "sklearn"}
    metrics = ("map_all", "map_200", "prec_100", "prec_200")
    for name, row in presets.items():
        assert all(_unit(row[m]) for m in metrics) and row["conventions"], name
    # VOC interpolation never lowers AP: the same ranking, the same averaging, VOC >= sklearn
    assert presets["sbka_lite"]["map_all"] >= presets["sklearn"]["map_all"] - 1e-12
    # sklearn's AP on the top-200 list divides by the relevant items found there, at most #relevant
    assert presets["doodle2search"]["map_200"] >= presets["sklearn"]["map_200"] - 1e-12
    # SAKE and SBKA share their arithmetic; ZSE and ours differ only in P@k (no query lacks relevant photos)
    assert all(presets["sake"][m] == presets["sbka"][m] for m in metrics)
    assert math.isclose(presets["zse"]["map_all"], presets["sbka_lite"]["map_all"], abs_tol=1e-12)
    if r["query_class_sizes_equal"]:  # class and query means differ only through uneven classes
        assert math.isclose(presets["sbka"]["map_all"], presets["sbka_lite"]["map_all"], abs_tol=1e-12)
    # the recorded spread is the table's, and the conventions do move the numbers
    values = [row["map_all"] for row in presets.values()]
    assert math.isclose(r["spread"]["map_all"], max(values) - min(values), abs_tol=1e-12) and r["spread"]["map_all"] > 0
    tuning = r["tuning"]
    assert "upper bound" in tuning["upper_bound"]["label"] and "label-free" in tuning["label_free"]["label"]
    # the test-tuned grid holds the label-free choice (same candidates, same seed), so it cannot score lower
    assert tuning["upper_bound"]["map_all"] >= tuning["label_free"]["map_all"] - 1e-9
    selection = r["checkpoint_selection"]
    assert "leak" in selection["leak"]["label"] and "seen" in selection["honest"]["label"]
    assert selection["leak_gain"] >= 0 and selection["leak"]["map_all"] >= selection["honest"]["map_all"]
    best_seen = max(row["seen_val_acc"] for row in selection["rows"])
    assert any(row["checkpoint"] == selection["honest"]["checkpoint"] and row["seen_val_acc"] == best_seen
               for row in selection["rows"])


CHECKS = {"01": check_01, "02": check_02, "03": check_03, "04": check_04, "05": check_05, "06": check_06,
          "07": check_07}


@pytest.mark.notebook
@pytest.mark.timeout(420)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_smoke_under_papermill(path, tmp_path):
    prefix = path.name[:2]
    assert prefix in CHECKS, f"add a results check for {path.name} to tests/test_notebooks.py"
    workdir = run_dir(smoke=True)  # shared with nbmake's run so checkpoints are reused
    started = time.time()
    run_notebook(path, tmp_path / path.name, {"SMOKE": True, "WORKDIR": str(workdir)})
    results_path = workdir / path.stem / "results.json"
    assert results_path.is_file(), f"{path.name} recorded no results.json"
    assert results_path.stat().st_mtime >= started - 1, "results.json was not rewritten by this run"
    results = json.loads(results_path.read_text())
    assert results["smoke"] is True
    CHECKS[prefix](results)


@pytest.mark.notebook
@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_rejects_unknown_and_mistyped_parameters(path, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="NO_SUCH_PARAM"):
        run_notebook(path, tmp_path / "unknown.ipynb", {"SMOKE": True, "NO_SUCH_PARAM": 1})
    with pytest.raises(pm.PapermillExecutionError, match="SEED"):
        run_notebook(path, tmp_path / "mistyped.ipynb", {"SMOKE": True, "SEED": "zero"})
