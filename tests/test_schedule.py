"""The schedule and the budget it spends: the official run's figures, and guards on the demo recipe."""
import json
from pathlib import Path

import pytest

from sbka_lite.config import TrainConfig, training_config, upgrade_saved_config
from sbka_lite.schedule import OFFICIAL_SKETCHY, budget, student_lr, teacher_lr

REPO = Path(__file__).resolve().parents[1]
STARVED = {"epochs": 4, "warmup_epochs": 2, "steps_per_epoch": 30, "lr": 1e-4}  # the demo recipe before issue 19


def test_the_official_sketchy_budget_is_the_one_method_md_quotes():
    official = budget(OFFICIAL_SKETCHY)
    assert official["total_steps"] == 9780
    assert official["student_lr_sum"] == pytest.approx(0.167, abs=5e-4)
    assert official["phase1"]["student_lr_sum"] == pytest.approx(0.162, abs=5e-4)
    assert official["phase2"]["student_lr_sum"] == pytest.approx(5.1e-3, abs=5e-5)
    assert official["phase2"]["lr_first"] == pytest.approx(3.16e-6, rel=1e-2)  # "lr 3.2e-6 down to 1.4e-7"
    assert official["phase2"]["lr_last"] == pytest.approx(1.41e-7, rel=1e-2)
    # the 4 x 30 demo spent 1/46 of it
    assert budget(training_config(False).replace(**STARVED))["student_lr_sum"] == pytest.approx(3.65e-3, rel=1e-2)


def test_phase2_lr_scale_acts_in_phase_two_of_a_learning_teacher_only_and_the_teacher_factor_on_the_teacher():
    config = TrainConfig(epochs=4, warmup_epochs=2, lr=1e-3, lr_final_factor=0.01, phase2_lr_scale=10.0,
                         teacher_lr_factor=0.5)
    assert student_lr(config, 1) == pytest.approx(1e-3 * 0.01 ** 0.25)
    assert student_lr(config, 2) == pytest.approx(10 * 1e-3 * 0.01 ** 0.5)
    assert student_lr(config, 2, teacher_learns=False) == pytest.approx(1e-3 * 0.01 ** 0.5)  # one-way: no phase 2
    assert teacher_lr(config, 3) == pytest.approx(0.5 * student_lr(config, 3))


def test_the_demo_recipe_gives_phase_two_its_official_share_of_the_budget():
    recipe = training_config(False)
    share = budget(recipe)["phase2_share"]
    assert 0.02 <= share <= 0.05, f"phase 2 holds {share:.1%} of the summed learning rate (official 3.1 %)"
    assert budget(recipe.replace(warmup_epochs=5))["phase2_share"] > 0.05  # the guard can fail


def test_the_demo_recipe_is_the_one_whose_convergence_was_checked():
    """The committed ablation ran this recipe, with its 2x convergence check, and the report withholds a
    verdict from every arm the check moved: changing the recipe (back to 4 x 30, say) without rerunning
    `make ablation` fails here, and so does a report that would judge an arm still learning."""
    from sbka_lite.experiments.ablation_report import convergence_checks, convergence_status, verdict

    saved = json.loads((REPO / "results" / "ablation_synthetic.json").read_text())
    recipe = training_config(False).to_dict()
    ran = upgrade_saved_config(saved["meta"]["config"])  # a file written before a key was renamed
    differs = {k: (ran[k], recipe[k]) for k in ran if ran[k] != recipe[k]}
    assert not differs, f"results/ablation_synthetic.json ran another recipe: {differs}; rerun make ablation"
    assert saved["meta"]["budget"]["recipe"] == budget(training_config(False))
    checks = convergence_checks(saved["runs"])
    assert set(checks.arm) >= {"finetune", "one_way"}, "the 2x convergence check has not run: make ablation"
    status = convergence_status(saved["runs"])
    for check in checks.itertuples():
        moved = max(check.moved_val_acc, check.moved_map_all, check.moved_cluster_map_all)
        assert check.converged == (moved < 0.01)
        if not check.converged:
            assert status[check.arm]["converged"] is False
            judged = [v for v in verdict(saved["runs"]) if check.arm in (v["arm"], v["reference"])]
            assert all(v["verdict"].startswith("not converged") for v in judged), judged
