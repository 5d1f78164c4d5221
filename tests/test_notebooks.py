"""Every notebook runs top to bottom in smoke mode, once per test run, and records sane figures.

A notebook runs as committed (no parameters injected; ``SBKA_SMOKE=1`` in the environment shrinks it, as a
reader's ``SBKA_SMOKE=1 jupyter lab`` would), and writes `<WORKDIR>/<notebook stem>/results.json`; the checks
below assert on those values. Injected parameters have their own (cheap) test at the end.
"""
import json
import math
import re
import time
from pathlib import Path

import nbformat
import pytest

from sbka_lite.paths import exclusive
from sbka_lite.tutorial.notebooks import notebook_paths, run_notebook
from sbka_lite.tutorial.series import run_dir
from sbka_lite.tutorial.summary import check_claims

REPO = Path(__file__).resolve().parents[1]

NOTEBOOKS = notebook_paths()


def _unit(x):
    return isinstance(x, (int, float)) and 0.0 <= x <= 1.0 and not math.isnan(x)


def check_01(r):
    assert r["n_seen"] + r["n_unseen"] == r["n_classes"] >= 40
    assert 0.15 <= r["n_unseen"] / r["n_classes"] <= 0.3
    # the guard's own count: nothing shared; the leaky copy is refused for exactly its one leaked image and class
    assert r["leakage_overlap"] == {"images": 0, "classes": 0}
    assert r["leaky_copy_rejected"] is True and r["leaky_copy_overlap"] == {"images": 1, "classes": 1}
    # every line of a list is one image: the counts are the lists' line counts, nothing dropped
    assert r["dropped"] == {"duplicate lines": 0, "missing files": 0}
    listed = {f"{split}/{modality}": n for split, row in r["counts"].items() for modality, n in row.items() if n}
    assert listed == r["list_lines"] and "test/photo" not in r["list_lines"]  # no photo test list
    # seen classes in train and test, the unseen ones in both zero lists; the roles partition the unseen classes
    classes = r["classes_per_list"]
    assert classes["train"]["sketch"] == classes["train"]["photo"] == r["n_seen"] >= classes["test"]["sketch"] > 0
    assert classes["zero"]["sketch"] == classes["zero"]["photo"] == r["n_unseen"]
    # as the prose says: some unseen classes extend a seen family, others come from families never seen
    assert sum(r["unseen_roles"].values()) == r["n_unseen"]
    assert all(r["unseen_roles"].get(f"unseen: {role}", 0) > 0 for role in ("new member of a seen family",
                                                                              "member of an unseen family"))
    # smoke mode decodes every listed image, the demo an evenly spread 600
    total = sum(r["list_lines"].values())
    assert r["corrupt_images"] == 0 and r["checked_images"] == (total if r["smoke"] else min(600, total))
    assert r["generation_seconds"] >= 0
    # what the teacher knows: both teachers measured on the same classes; the world's rule decides who is known
    from sbka_lite.data.synthetic.world import photo_world_classes
    knowledge = r["teacher_knowledge"]
    assert set(knowledge) == {"imagenet", "photo_world"}
    for teacher in knowledge.values():
        for row in teacher["per_class"].values():
            assert row["top1"] is None or row["top1"] <= row["top5"]
    world = knowledge["photo_world"]["per_class"]
    assert {c for c, row in world.items() if row["known"]} == set(world) & set(photo_world_classes())
    unseen = knowledge["photo_world"]["summary"]["unseen"]
    assert unseen["classes_with_counterpart"] > 0 and unseen["classes_without"] > 0  # both cases are there to show
    if not r["smoke"]:  # the premise, made true: the world teacher knows unseen photos the ImageNet one does not
        assert unseen["top1"] > knowledge["imagenet"]["summary"]["unseen"]["top1"] + 0.5


def check_02(r):
    # one baseline through the series: the start of notebooks 03 and 05, with the plain ImageNet backbone beside it
    assert set(r["gap"]) == {"start", "trained (SBKA)"} | ({"ImageNet backbone"} if r["start"] != "imagenet" else set())
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
    # trained differs from pretrained in its weights, not only in BatchNorm statistics (which move without learning)
    assert r["weights_moved_fraction"] >= 0.9 and r["relative_weight_change"] > 0
    # phase 1 never trains the teacher; phase 2 adds exactly L_KA^T (the smoke schedule runs both)
    assert r["terms_by_phase"]["1"] == ["loss_cls", "loss_gaussian", "loss_ka_student"]
    assert r["terms_by_phase"]["2"] == ["loss_cls", "loss_gaussian", "loss_ka_student", "loss_ka_teacher"]
    assert r["final_losses"]["loss_ka_teacher"] is not None
    assert r["checkpoint"].endswith(".pt")
    # one step in the open: each total is its terms weighted by the recipe, and both optimisers moved their weights
    step, w = r["one_step"], r["one_step"]["weights"]
    terms = step["terms"]
    assert step["totals"]["student"] == pytest.approx(
        terms["loss_cls"] + w["w_ka"] * terms["loss_ka_student"] + w["w_gaussian"] * terms["loss_gaussian"], rel=1e-5)
    assert step["totals"]["teacher"] == pytest.approx(w["w_ka"] * terms["loss_ka_teacher"], rel=1e-5)
    assert set(step["largest_weight_change"]) == {"student", "teacher"} and min(step["largest_weight_change"].values()) > 0
    # step 0: with the recipe's frozen statistics the student is its teacher, so L_KA^S starts at its floor;
    # train-mode BatchNorm on mixed sketch/photo batches makes them two different networks
    frozen, train_mode = r["step_zero"]["frozen statistics (the recipe)"], r["step_zero"]["train-mode BatchNorm"]
    assert frozen["max_logit_gap"] < 1e-4 and frozen["loss_ka_student"] == pytest.approx(frozen["teacher_own_sce"], rel=1e-5)
    assert train_mode["max_logit_gap"] > 1e-2 and train_mode["loss_ka_student"] > train_mode["teacher_own_sce"]
    # what the teacher sees: the mask lifts a seen photo's own class in the target; an unseen photo has no mask row
    for row in r["teacher_view"]:
        if row["split"] == "seen" and row["teacher_can_name_it"]:
            assert row["target_own"] > row["teacher_own"]
        elif row["split"] == "unseen" and row["teacher_can_name_it"]:
            assert row["target_own"] == pytest.approx(row["teacher_own"])
    assert {row["split"] for row in r["teacher_view"]} == {"seen", "unseen"}
    if not r["smoke"]:  # the demo recipe learns the seen classes: L_cls far below chance, log(#seen)
        assert r["final_losses"]["loss_cls"] < 0.6 * math.log(43)


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
    rows = r["sweep"]
    for row in rows:
        assert _unit(row["one-to-one mAP"]) and _unit(row["cluster mAP"]) and _unit(row["upper bound mAP"])
        if row["N_COMPONENTS"] == 0:  # the upper bound's grid holds the label-free choice
            assert row["upper bound mAP"] >= row["cluster mAP"] - 1e-9
        else:  # a fixed K is used as given
            assert row["K"] == row["N_COMPONENTS"]
    # the one-to-one baseline ignores the matcher's settings; the upper bound depends on the codebook only
    assert len({round(row["one-to-one mAP"], 9) for row in rows}) == 1
    for codebook in {row["CODEBOOK"] for row in rows}:
        assert len({round(row["upper bound mAP"], 9) for row in rows if row["CODEBOOK"] == codebook}) == 1
    # the committed ablation: arms of the grid, verdicts worded by the stated rule (3 paired seeds, converged arms,
    # every seed agreeing, a mean beyond its spread and 0.005), the recipe's phase 2 at the official share
    from sbka_lite.experiments.ablation_report import ARMS, MIN_SEEDS, TOLERANCE
    ablation = r["ablation"]
    assert set(ablation) <= set(ARMS) and {"frozen", "finetune", "one_way", "bidirectional+gaussian"} <= set(ablation)
    # the frozen arm trains nothing: its rows differ only where they started from another photo world
    frozen = [row for row in json.loads((REPO / "results" / "ablation_synthetic.json").read_text())["runs"]
              if row["arm"] == "frozen"]
    for start in {row.get("start") for row in frozen}:
        assert len({round(row["map_all"], 9) for row in frozen if row.get("start") == start}) == 1
    assert (ablation["frozen"]["map_all_std"] > 0) == (len({row.get("start") for row in frozen}) > 1)
    assert 0.02 <= r["budget"]["recipe"]["phase2_share"] <= 0.05
    for metric, statements in r["ablation_verdicts"].items():
        for s in statements:
            unconverged = any(r["convergence_status"].get(a, {}).get("converged") is False for a in (s["arm"], s["reference"]))
            if unconverged:
                assert s["verdict"].startswith("not converged"), s
            elif s["seeds"] < MIN_SEEDS:
                assert s["verdict"].startswith("too few seeds"), s
            else:
                margin = max(TOLERANCE, s["std"])
                assert (s["verdict"] == "better") == (s["ahead"] == s["seeds"] and s["mean"] > margin), s
                assert (s["verdict"] == "worse") == (s["ahead"] == 0 and s["mean"] < -margin), s
    for check in r["convergence"]:  # the 2x check: converged means every figure moved by less than 0.01
        moved = [check[f"moved_{m}"] for m in ("val_acc", "map_all", "cluster_map_all")]
        assert check["converged"] == all(v < 0.01 for v in moved)


def check_06(r):
    precision, chance, k = r["precision_at_k"], r["chance_by_class"], r["k"]
    assert r["gallery_size"] > 0 and k >= 1 and set(precision) and set(precision) == set(chance)
    # one sketch per unseen class over the unseen gallery: the classes' shares of the gallery add up to 1
    assert sum(chance.values()) == pytest.approx(1.0)
    for name, value in precision.items():  # hits / k, never above the class's ceiling min(k, its photos) / k
        photos = round(chance[name] * r["gallery_size"])
        assert value * k == pytest.approx(round(value * k)) and value <= min(k, photos) / k + 1e-9, name
    assert precision[r["best_class"]] == max(precision.values()) and precision[r["worst_class"]] == min(precision.values())
    assert r["mean_precision_at_k"] == pytest.approx(sum(precision.values()) / len(precision))
    assert r["chance"] == pytest.approx(sum(chance.values()) / len(chance))
    # the prose: the mean precision sits well above chance (at least twice it), even in the smoke run
    assert r["mean_precision_at_k"] >= 2 * r["chance"], (r["mean_precision_at_k"], r["chance"])


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


MAX_OUTPUT_CHARS = 3000  # a printed object longer than this is noise to a reader (a full repr, a log)


def output_noise(executed) -> list[str]:
    """What a reader of the executed notebook (or the site built from it) should not see: warnings,
    this machine's paths, and printed text past MAX_OUTPUT_CHARS (tables render as HTML, not text)."""
    noise, root = [], str(REPO)
    nb = nbformat.read(executed, as_version=4)
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                text = output.text
            elif output.output_type in ("execute_result", "display_data"):
                text = output.get("data", {}).get("text/plain", "") if "text/html" not in output.get("data", {}) else ""
            else:
                continue
            if len(text) > MAX_OUTPUT_CHARS:
                noise.append(f"cell {index}: {len(text)} characters of text output: {text[:80]!r}...")
            if re.search(r"warning", text, re.IGNORECASE):
                noise.append(f"cell {index}: a warning: {text[:300]!r}")
            shown = text + output.get("data", {}).get("text/html", "") if output.output_type != "stream" else text
            if root in shown or "PosixPath(" in shown:  # a table's HTML too: the site renders it
                noise.append(f"cell {index}: a path of this machine: {shown[shown.find(root) - 100:][:300]!r}")
    return noise


SUMMARISED = {"01", "02", "03", "04", "05", "06", "07"}
CHECKS = {"01": check_01, "02": check_02, "03": check_03, "04": check_04, "05": check_05, "06": check_06,
          "07": check_07}


SERIES_LOCK = ".smoke-series.lock"  # beside outputs/smoke: held while this module runs the series


@pytest.fixture(scope="module", autouse=True)
def _the_series_is_ours():
    """Under pytest-xdist (make test runs two workers) tests/test_site.py reads the executed notebooks this
    module writes: it waits for this lock instead of running a half-written series a second time."""
    with exclusive(run_dir(smoke=True).parent / SERIES_LOCK, "running the smoke series"):
        yield


@pytest.mark.notebook
@pytest.mark.timeout(420)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_as_committed_in_smoke_mode(path, monkeypatch):
    prefix = path.name[:2]
    assert prefix in CHECKS, f"add a results check for {path.name} to tests/test_notebooks.py"
    monkeypatch.setenv("SBKA_SMOKE", "1")  # the kernel inherits it: the committed defaults, at smoke size
    workdir = run_dir(smoke=True)  # the series' shared folder: later notebooks reuse earlier ones' checkpoints
    started = time.time()
    # the executed copy stays in <workdir>/notebooks: tests/test_site.py builds the website from it
    executed = run_notebook(path, workdir / "notebooks" / path.name)
    assert not output_noise(executed), output_noise(executed)
    results_path = workdir / path.stem / "results.json"
    assert results_path.is_file(), f"{path.name} recorded no results.json"
    assert results_path.stat().st_mtime >= started - 1, "results.json was not rewritten by this run"
    results = json.loads(results_path.read_text())
    assert results["smoke"] is True
    CHECKS[prefix](results)
    if prefix in SUMMARISED:  # the closing summary is worded from the numbers: every claim must hold in them
        assert any("op" in claim for claim in results["summary"]), f"{path.name} summary checks no number"
        assert not check_claims(results), check_claims(results)
