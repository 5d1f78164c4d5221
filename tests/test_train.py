"""Training runs end to end: the terms per phase, switches, resume, logs, selection, branching and the CLI.

(The config's own checks are in test_config.py.)"""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import sbka_lite.objective as objective_module
from sbka_lite.checkpoint import load_checkpoint, load_student
from sbka_lite.data.errors import ImageReadError
from sbka_lite.device import seed_everything
from sbka_lite.models import Student
from sbka_lite.build import semantic_mask_of
from sbka_lite.train import main, train
from train_fakes import TINY_BACKBONE, FakeBenchmark, tiny_config, tiny_trainer

REPO = Path(__file__).resolve().parents[1]
LOSS_COLUMNS = ("loss_student", "loss_cls", "loss_ka_student", "loss_ka_teacher", "loss_gaussian", "train_acc")


@pytest.fixture(autouse=True)
def _one_thread():
    # Bit-exact comparisons and a shared 2-core machine: keep torch on one thread here.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return FakeBenchmark(tmp_path_factory.mktemp("bench"))


# ----------------------------------------------------------------------------- training


def test_bidirectional_run_logs_every_term_in_the_right_phase(tmp_path, bench):
    result = train(tiny_config(tmp_path), bench, progress=False)
    assert result.completed and len(result.history) == 4 and len(result.epochs) == 2
    phase1, phase2 = result.history[:2], result.history[2:]
    assert all(r["phase"] == 1 and r["loss_ka_teacher"] is None for r in phase1)
    assert all(r["phase"] == 2 and r["loss_ka_teacher"] > 0 for r in phase2)
    assert all(r["loss_cls"] > 0 and r["loss_ka_student"] > 0 and r["loss_gaussian"] > 0 for r in result.history)
    for row in result.history:
        want = row["loss_cls"] + 1.0 * row["loss_ka_student"] + 0.1 * row["loss_gaussian"]
        assert row["loss_student"] == pytest.approx(want, rel=1e-5)
    assert result.history[0]["lr"] == 1e-3 and result.history[2]["lr"] == pytest.approx(1e-3 * 0.001 ** 0.5)
    assert all(r["images"] == 9 for r in result.history)
    # validation: held-out seen-class sketches, every epoch; model selection from it
    assert all(0 <= e["val_acc"] <= 1 for e in result.epochs)
    assert result.best_val_acc == max(e["val_acc"] for e in result.epochs)
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"last.pt", "best.pt", "steps.csv", "epochs.csv", "history.json", "config.json"} <= files
    logged = json.loads((result.run_dir / "history.json").read_text())
    assert len(logged["steps"]) == 4 and logged["best_val_acc"] == result.best_val_acc
    assert (result.run_dir / "steps.csv").read_text().count("\n") == 5
    student, meta = load_student(result.best_checkpoint)
    assert meta["seen_classes"] == bench.seen_classes and student.input_size == 32


def test_training_never_reads_the_unseen_split(tmp_path, bench):
    guarded = copy.copy(bench)

    def items(split, modality):
        if split == "zero":
            raise AssertionError("the trainer read unseen-class data")
        return bench.items(split, modality)

    guarded.items = items
    result = train(tiny_config(tmp_path, epochs=1, warmup_epochs=0, steps_per_epoch=1), guarded, progress=False)
    assert result.history[0]["phase"] == 2 and result.best_val_acc is not None


def _initial_student(config, n_classes):
    seed_everything(config.seed)
    return Student(config.backbone, n_classes, pretrained=False)


def test_teacher_learns_only_its_head_and_only_in_phase_two(tmp_path, bench):
    config = tiny_config(tmp_path, epochs=2, warmup_epochs=1)
    initial = _initial_student(config, 3).backbone.state_dict()
    after_warmup = train(config.replace(stop_after_steps=2), bench, progress=False)  # end of epoch 0
    teacher = load_checkpoint(after_warmup.last_checkpoint)["teacher"]["state"]
    assert all(torch.equal(teacher[k], initial[k]) for k in initial), "teacher moved during warm-up"
    train(config, bench, progress=False)  # resumes into phase 2
    teacher = load_checkpoint(after_warmup.last_checkpoint)["teacher"]["state"]
    changed = {k for k in initial if not torch.equal(teacher[k], initial[k])}
    assert changed == {"classifier.weight", "classifier.bias"}  # BatchNorm statistics included: unchanged


def test_alignment_switches(tmp_path, bench):
    none = train(tiny_config(tmp_path / "a", alignment="none", gaussian=False), bench, progress=False)
    assert all(r["loss_ka_student"] is None and r["loss_gaussian"] is None for r in none.history)
    assert all(r["loss_student"] == pytest.approx(r["loss_cls"]) for r in none.history)
    state = load_checkpoint(none.last_checkpoint)
    assert "teacher" not in state
    initial = _initial_student(none.config, 3)
    head = initial.imagenet_head.state_dict()
    assert all(torch.equal(state["student"][f"backbone.classifier.{k}"], v) for k, v in head.items())

    one_way = train(tiny_config(tmp_path / "b", alignment="teacher_to_student"), bench, progress=False)
    assert all(r["phase"] == 1 and r["loss_ka_teacher"] is None for r in one_way.history)
    assert all(r["loss_ka_student"] is not None for r in one_way.history)


def _one_batch(bench, config, trainer):
    from sbka_lite.data.loading import ImageTransform, MixedBatchSampler, MixedSketchPhotoDataset, collate_mixed

    from sbka_lite.models import image_config

    ic = image_config(trainer.model.student)
    dataset = MixedSketchPhotoDataset(bench.items("train", "sketch"), bench.items("train", "photo"), bench.seen_classes,
                                      ImageTransform(trainer.model.student.input_size, ic.mean, ic.std, augment=True))
    keys = next(iter(MixedBatchSampler(18, 18, config.sketches_per_batch, config.photos_per_batch, seed=0)))
    return collate_mixed([dataset[k] for k in keys])


def test_teacher_grad_to_student_switch(bench, tmp_path):
    """Detached (default): the student's gradient in phase 2 is exactly the one-way gradient.
    Not detached (official script): L_KA^T adds to it. The teacher's head gets the same either way."""
    grads, head_grads = {}, {}
    for name, changes in {"one_way": dict(alignment="teacher_to_student"),
                          "detached": dict(teacher_grad_to_student=False),
                          "official": dict(teacher_grad_to_student=True)}.items():
        config = tiny_config(tmp_path, **changes)
        trainer = tiny_trainer(config, bench.seen_classes, semantic_mask_of(bench, bench.seen_classes))
        trainer.start_epoch(1)
        trainer.step(_one_batch(bench, config, trainer), epoch=1, global_step=0)
        grads[name] = torch.cat([p.grad.flatten() for p in trainer.model.student.parameters() if p.grad is not None])
        if trainer.model.teacher.head.weight.grad is not None:
            head_grads[name] = trainer.model.teacher.head.weight.grad.clone()
    assert torch.equal(grads["one_way"], grads["detached"])
    assert not torch.allclose(grads["detached"], grads["official"])
    assert torch.allclose(head_grads["detached"], head_grads["official"])
    assert "one_way" not in head_grads


def test_step_losses_follow_the_formulas_with_the_semantic_mask(bench, tmp_path):
    from sbka_lite.losses import soft_cross_entropy

    config = tiny_config(tmp_path, gaussian=False)
    mask = semantic_mask_of(bench, bench.seen_classes)
    trainer = tiny_trainer(config, bench.seen_classes, mask)
    trainer.start_epoch(1)  # phase 2: both directions
    with torch.no_grad():  # a random tiny net gives near-uniform logits, which hide the target; sharpen them
        trainer.model.student.imagenet_head.weight.normal_(0, 1)
    batch = _one_batch(bench, config, trainer)
    student, teacher = copy.deepcopy(trainer.model.student), copy.deepcopy(trainer.model.teacher)
    with torch.no_grad():
        out, teacher_logits = student(batch.images), teacher(batch.images)
    rows = mask[batch.labels]
    assert rows.abs().sum() > 0  # the fake benchmark's mask is not all zeros
    expected = {
        "loss_cls": torch.nn.functional.cross_entropy(out.seen_logits, batch.labels),
        "loss_ka_student": soft_cross_entropy(out.imagenet_logits, teacher_logits, semantic_mask=rows, sample_mask=batch.is_photo),
        "loss_ka_teacher": soft_cross_entropy(teacher_logits, out.imagenet_logits, semantic_mask=rows, sample_mask=batch.is_photo),
    }
    unmasked = soft_cross_entropy(out.imagenet_logits, teacher_logits, sample_mask=batch.is_photo)
    assert abs(unmasked - expected["loss_ka_student"]) > 1e-4  # so the comparison below sees the mask
    values = trainer.step(batch, epoch=1, global_step=0)
    for name, value in expected.items():
        assert values[name] == pytest.approx(value.item(), rel=1e-5), name
    assert values["loss_student"] == pytest.approx(values["loss_cls"] + values["loss_ka_student"], rel=1e-6)


def test_nan_loss_names_the_term_and_step(tmp_path, bench, monkeypatch):
    monkeypatch.setattr(objective_module, "gaussian_alignment", lambda features, noise: torch.tensor(float("nan")))
    with pytest.raises(FloatingPointError, match=r"loss_gaussian = nan at step 1 \(epoch 0\)"):
        train(tiny_config(tmp_path), bench, progress=False)


def test_resumed_run_repeats_the_uninterrupted_losses_exactly(tmp_path, bench):
    config = tiny_config(tmp_path / "full", epochs=2, steps_per_epoch=3, warmup_epochs=1)
    full = train(config, bench, progress=False)
    split = config.replace(run_dir=str(tmp_path / "split"))
    first = train(split.replace(stop_after_steps=2), bench, progress=False)  # mid epoch 0
    assert not first.completed and len(first.history) == 2
    assert len(train(split.replace(stop_after_steps=2), bench, progress=False).history) == 2  # no creeping on
    second = train(split.replace(stop_after_steps=4), bench, progress=False)  # across the phase change
    assert not second.completed and len(second.history) == 4
    final = train(split, bench, progress=False)
    assert final.completed and len(final.history) == 6
    # bit-identical on CPU with a fixed seed (one thread): data order, augmentation and the
    # Gaussian noise are functions of (seed, epoch, step); weights, Adam moments and BN statistics
    # come from the checkpoint
    columns = lambda rows: [[row[c] for c in LOSS_COLUMNS] for row in rows]  # noqa: E731
    assert columns(final.history) == columns(full.history)
    assert [e["val_acc"] for e in full.epochs] == [e["val_acc"] for e in final.epochs]
    weights_full = load_checkpoint(full.last_checkpoint)["student"]
    weights_split = load_checkpoint(final.last_checkpoint)["student"]
    assert all(torch.allclose(weights_full[k].float(), weights_split[k].float(), atol=1e-6) for k in weights_full)
    # a finished run is not retrained: the same result comes back at once
    again = train(split, bench, progress=False)
    assert again.completed and again.history == final.history
    with pytest.raises(ValueError, match=r"different config \(lr"):
        train(split.replace(lr=0.5), bench, progress=False)


def test_corrupt_images_are_counted_listed_and_abort_when_too_many(tmp_path):
    bench = FakeBenchmark(tmp_path / "data")
    broken = bench.corrupt("train", "photo", 1)
    result = train(tiny_config(tmp_path, steps_per_epoch=3), bench, progress=False)
    assert result.completed and len(result.bad_images) >= 1 and broken[0] in result.bad_images[0]
    assert sum(r["bad_images"] for r in result.history) == len(result.bad_images)
    assert broken[0] in (result.run_dir / "bad_images.txt").read_text()
    bench.corrupt("train", "photo", 18)  # every photo: 6 of each 9-image batch fail
    with pytest.raises(ImageReadError, match=r"1[2-9] of 1[89] images failed to decode \(limit 10\)"):
        train(tiny_config(tmp_path, run_dir=str(tmp_path / "run2"), steps_per_epoch=3), bench, progress=False)


# ----------------------------------------------------------------------------- the command line


def _train_cli_on_a_tiny_synthetic_benchmark(tmp_path, *settings: str) -> int:
    """`python -m sbka_lite.train --evaluate` on a 2 + 2 class synthetic benchmark with the tiny backbone."""
    from sbka_lite.data import make_synthetic_benchmark
    from sbka_lite.data.synthetic import SEEN_CLASSES, UNSEEN_CLASSES

    make_synthetic_benchmark(tmp_path / "synthetic", classes=SEEN_CLASSES[:2] + UNSEEN_CLASSES[:2], image_size=32,
                             sketches_per_class=4, test_sketches_per_class=2, photos_per_class=4,
                             unseen_sketches_per_class=3, unseen_photos_per_class=3, n_workers=1, progress=False)
    extra = [item for setting in settings for item in ("--set", setting)]
    return main(["--config", str(REPO / "configs" / "smoke.yaml"), "--set", f"data_root={tmp_path}",
                 "--set", f"backbone={TINY_BACKBONE}", "--set", "pretrained=false", "--set", "image_size=32",
                 *extra, "--set", f"run_dir={tmp_path / 'run'}", "--evaluate", "--no-progress"])


def test_cli_trains_and_evaluates_on_the_synthetic_benchmark(tmp_path, capsys):
    assert _train_cli_on_a_tiny_synthetic_benchmark(tmp_path) == 0
    out = capsys.readouterr().out
    summary = json.loads(out if out.startswith("{") else out[out.rindex("\n{") + 1:])
    assert summary["completed"] and summary["best_checkpoint"].endswith("best.pt")
    assert summary["unseen"]["n_queries"] == 6 and 0 < summary["unseen"]["map_all"] <= 1


# ----------------------------------------------------------------------------- safety net: the method learns


def test_training_moves_the_students_weights_not_only_its_batchnorm_statistics(tmp_path, bench):
    config = tiny_config(tmp_path)
    initial = _initial_student(config, len(bench.seen_classes))
    result = train(config, bench, progress=False)
    trained = load_checkpoint(result.last_checkpoint)["student"]
    parameters = dict(initial.named_parameters())  # parameters only: BN running statistics move without any step
    moved = [name for name, value in parameters.items() if not torch.equal(trained[name], value.detach())]
    backbone = [name for name in parameters if name.startswith("backbone.") and "classifier" not in name]
    assert len(set(moved) & set(backbone)) >= 0.9 * len(backbone), "the student's backbone did not learn"
    assert {"seen_head.weight", "seen_head.bias", "backbone.classifier.weight"} <= set(moved)


def test_overfitting_one_batch_lowers_the_classification_loss(bench, tmp_path):
    config = tiny_config(tmp_path, lr=1e-2, lr_final_factor=1.0)
    trainer = tiny_trainer(config, bench.seen_classes, semantic_mask_of(bench, bench.seen_classes))
    batch = _one_batch(bench, config, trainer)
    trainer.start_epoch(1)  # phase 2: the full SBKA step
    losses = [trainer.step(batch, epoch=1, global_step=step)["loss_cls"] for step in range(30)]
    assert losses[0] == pytest.approx(np.log(len(bench.seen_classes)), abs=0.05)  # near-zero new head: uniform
    assert losses[-1] < 0.5 * losses[0], losses


def test_teacher_head_gradient_is_that_of_its_own_loss_alone(bench, tmp_path):
    """After a phase-2 step the teacher head's gradient equals autograd of L_KA^T alone: the
    student's L_KA^S (and L_cls, L_align) must not reach it through undetached teacher logits."""
    from sbka_lite.losses import soft_cross_entropy

    for official in (False, True):  # the switch decides the student's side only
        config = tiny_config(tmp_path, gaussian=True, teacher_grad_to_student=official)
        mask = semantic_mask_of(bench, bench.seen_classes)
        trainer = tiny_trainer(config, bench.seen_classes, mask)
        trainer.start_epoch(1)
        with torch.no_grad():  # sharpen the near-uniform logits of a random tiny net
            trainer.model.student.imagenet_head.weight.normal_(0, 1)
        batch = _one_batch(bench, config, trainer)
        student, teacher = copy.deepcopy(trainer.model.student), copy.deepcopy(trainer.model.teacher)
        teacher.set_phase(2)
        out, teacher_logits = student(batch.images), teacher(batch.images)
        own = soft_cross_entropy(teacher_logits, out.imagenet_logits.detach(), semantic_mask=mask[batch.labels],
                                 sample_mask=batch.is_photo)
        want = torch.autograd.grad(own, list(teacher.head_parameters()))
        trainer.step(batch, epoch=1, global_step=0)
        got = [p.grad for p in trainer.model.teacher.head_parameters()]
        for g, w in zip(got, want):
            assert torch.allclose(g, w, atol=1e-7, rtol=1e-5), f"teacher_grad_to_student={official}"
        # and the teacher's backbone never gets a gradient
        assert all(p.grad is None for p in trainer.model.teacher.backbone.parameters() if p not in set(trainer.model.teacher.head_parameters()))


# ----------------------------------------------------------------------------- the paper's regime on a BatchNorm backbone


@pytest.mark.parametrize("freeze_norm", [True, False])
def test_with_frozen_norm_student_and_teacher_agree_at_step_zero(bench, tmp_path, freeze_norm):
    """ConvNeXt (LayerNorm) student and teacher are the same function at step 0; a BatchNorm student
    is only with frozen statistics. Then L_KA^S starts at the teacher's own (masked) cross-entropy."""
    from sbka_lite.losses import soft_cross_entropy

    config = tiny_config(tmp_path, freeze_norm=freeze_norm, gaussian=False)
    mask = semantic_mask_of(bench, bench.seen_classes)
    trainer = tiny_trainer(config, bench.seen_classes, mask)
    trainer.start_epoch(0)
    batch = _one_batch(bench, config, trainer)
    photos = batch.is_photo
    with torch.no_grad():
        student_logits = trainer.model.student(batch.images).imagenet_logits[photos]  # train mode, as in a step
        teacher_logits = trainer.model.teacher(batch.images[photos])
        own = soft_cross_entropy(teacher_logits, teacher_logits, semantic_mask=mask[batch.labels[photos]])
    agree = torch.allclose(student_logits, teacher_logits, atol=1e-5)
    assert agree == freeze_norm, "train-mode BatchNorm should make them differ; frozen, they must agree"
    values = trainer.step(batch, epoch=0, global_step=0)
    if freeze_norm:
        assert values["loss_ka_student"] == pytest.approx(own.item(), rel=1e-5)
        bn = [m for m in trainer.model.student.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert bn and not any(m.training for m in bn)  # and stays so after the step's train()
        assert torch.equal(bn[0].running_mean, trainer.model.teacher.backbone.get_submodule(
            next(n for n, m in trainer.model.student.backbone.named_modules() if m is bn[0])).running_mean)


def test_layernormed_gaussian_term_cannot_collapse_the_embedding():
    """Minimising L_align on a raw (non-negative, post-ReLU6) feature drives every image toward one
    constant vector: the L2-normalised embeddings collapse. On the LayerNormed feature it cannot."""
    from sbka_lite.models import StudentOutput
    from sbka_lite.objective import TERMS, ObjectiveSettings, SBKAObjective, StepInputs

    def mean_cosine(x):
        e = torch.nn.functional.normalize(x, dim=-1)
        similarity = e @ e.T
        return float((similarity.sum() - similarity.diagonal().sum()) / (len(x) * (len(x) - 1)))

    results = {}
    for feature in ("raw", "layernorm"):
        torch.manual_seed(0)
        x = (6 * torch.rand(32, 64)).requires_grad_()  # like ReLU6 outputs
        objective = SBKAObjective(ObjectiveSettings(alignment="none", gaussian=True, w_ka=1.0, w_gaussian=0.1, mask_scale=0.3,
                                                  teacher_grad_to_student=False, warmup_epochs=0, gaussian_feature=feature))
        optimizer = torch.optim.Adam([x], lr=0.05)
        start = mean_cosine(x.detach())
        for step in range(300):
            out = StudentOutput(embedding=x, seen_logits=x[:, :2], imagenet_logits=x, features=x)
            inputs = StepInputs(out, torch.zeros(32, dtype=torch.long), torch.zeros(32, dtype=torch.bool), None, None,
                                torch.randn(32, 64))
            loss = TERMS["loss_gaussian"].compute(objective, inputs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        results[feature] = (start, mean_cosine(x.detach()))
    assert results["raw"][1] > 0.99, results  # collapsed: every embedding points the same way
    assert results["layernorm"][1] < results["layernorm"][0] + 0.02, results  # no pull together
    # and the demo recipe (a BatchNorm backbone with a post-ReLU6 feature) uses the feature that cannot collapse
    from sbka_lite.config import training_config

    recipe = training_config(False)
    assert recipe.backbone == "tf_efficientnet_lite0" and recipe.freeze_norm
    assert results[recipe.gaussian_feature][1] < results[recipe.gaussian_feature][0] + 0.02, recipe.gaussian_feature


def test_the_teacher_head_runs_at_its_own_learning_rate_factor(bench, tmp_path):
    config = tiny_config(tmp_path, teacher_lr_factor=0.5)
    trainer = tiny_trainer(config, bench.seen_classes, semantic_mask_of(bench, bench.seen_classes))
    for epoch in (0, 1):
        trainer.start_epoch(epoch)
        student_lr = trainer.optimizers["student"].param_groups[0]["lr"]
        assert trainer.optimizers["teacher"].param_groups[0]["lr"] == pytest.approx(0.5 * student_lr)


def test_the_unseen_diagnostic_never_changes_training_or_selection(bench, tmp_path):
    """diagnose_unseen logs unseen mAP per epoch (learning curves); the run must be the same run without it."""
    runs = {}
    for flag in (False, True):
        config = tiny_config(tmp_path / str(flag), diagnose_unseen=flag, epochs=3)
        runs[flag] = train(config, bench, progress=False)
    quiet, diagnosed = runs[False], runs[True]
    assert all("unseen_map_diagnostic" not in row for row in quiet.epochs)
    curve = [row["unseen_map_diagnostic"] for row in diagnosed.epochs]
    assert len(curve) == 3 and all(0.0 <= v <= 1.0 for v in curve)
    assert diagnosed.best_epoch == quiet.best_epoch
    for (name, a), b in zip(quiet.student.state_dict().items(), diagnosed.student.state_dict().values()):
        assert torch.equal(a, b), name


def test_phase2_lr_scale_multiplies_the_phase_two_schedule_only(tmp_path):
    plain = tiny_config(tmp_path, epochs=4, warmup_epochs=2)
    scaled = plain.replace(phase2_lr_scale=10.0)
    ours, theirs = (tiny_trainer(c, ["a", "b"]) for c in (scaled, plain))
    rate = lambda trainer, epoch: trainer.model.learning_rates(epoch)["student"]  # noqa: E731
    for epoch in range(4):
        factor = 10.0 if epoch >= 2 else 1.0
        assert rate(ours, epoch) == pytest.approx(factor * rate(theirs, epoch))
    ours.start_epoch(3)
    assert ours.optimizers["student"].param_groups[0]["lr"] == pytest.approx(10.0 * rate(theirs, 3))
    assert ours.optimizers["teacher"].param_groups[0]["lr"] == pytest.approx(10.0 * rate(theirs, 3))


# ----------------------------------------------------------------------------- phase 2 from a shared warm-up


def _warm_up(bench, config, folder, **changes):
    """The one-way phase 1 of `config`, stopped where its phase 2 starts; returns its last.pt."""
    warm = config.replace(alignment="teacher_to_student", run_dir=str(folder),
                          stop_after_steps=config.warmup_epochs * config.steps_per_epoch, **changes)
    result = train(warm, bench, progress=False)
    assert not result.completed
    return Path(result.last_checkpoint)


def test_a_branch_from_the_shared_warm_up_is_the_run_trained_from_scratch(bench, tmp_path):
    """one-way and bidirectional share phase 1 exactly, so branching phase 2 from one warm-up checkpoint
    gives bit for bit the run trained from scratch (and saves the warm-up's time per arm)."""
    sbka = tiny_config(tmp_path / "scratch", epochs=4, warmup_epochs=2, alignment="bidirectional", gaussian=True,
                       selection="best")
    scratch = train(sbka, bench, progress=False)
    warm = _warm_up(bench, sbka, tmp_path / "warm")
    branch = train(sbka.replace(run_dir=str(tmp_path / "branch"), branch_from=str(warm)), bench, progress=False)
    assert branch.completed and len(branch.history) == len(scratch.history) == 8
    assert [row["loss_student"] for row in branch.history] == [row["loss_student"] for row in scratch.history]
    assert branch.history[-1]["loss_ka_teacher"] is not None  # phase 2 ran, and the teacher learned in it
    for (name, a), b in zip(scratch.student.state_dict().items(), branch.student.state_dict().values()):
        assert torch.equal(a, b), name
    ours, theirs = (load_checkpoint(r.last_checkpoint)["teacher"]["state"] for r in (branch, scratch))
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    assert branch.best_epoch == scratch.best_epoch and (branch.run_dir / "best.pt").is_file()
    # the warm-up is untouched: another arm can branch from it after this one
    assert load_checkpoint(warm)["epoch"] == 2


def test_a_branch_must_share_phase_one_and_start_where_it_ends(bench, tmp_path):
    sbka = tiny_config(tmp_path / "arm", epochs=4, warmup_epochs=2, alignment="bidirectional")
    warm = _warm_up(bench, sbka, tmp_path / "warm")
    with pytest.raises(ValueError, match=r"act before phase 2 \(w_ka"):
        train(sbka.replace(w_ka=0.5, branch_from=str(warm)), bench, progress=False)
    with pytest.raises(ValueError, match="only between runs with a teacher"):
        train(sbka.replace(alignment="none", branch_from=str(warm)), bench, progress=False)
    early = train(sbka.replace(alignment="teacher_to_student", run_dir=str(tmp_path / "early"),
                               stop_after_steps=sbka.steps_per_epoch), bench, progress=False)
    with pytest.raises(ValueError, match="stopped at epoch 1"):
        train(sbka.replace(branch_from=str(early.last_checkpoint)), bench, progress=False)
    # what a branch may change: the phase-2 keys (the teacher's rate alone here)
    allowed = train(sbka.replace(teacher_lr_factor=10.0, branch_from=str(warm)), bench, progress=False)
    assert allowed.completed


def test_evaluate_says_what_it_evaluated_when_selection_has_not_chosen_yet(tmp_path, capsys):
    code = _train_cli_on_a_tiny_synthetic_benchmark(tmp_path, "selection=official", "stop_after_steps=1")
    assert code == 0
    out = capsys.readouterr().out
    summary = json.loads(out if out.startswith("{") else out[out.rindex("\n{") + 1:])
    assert not summary["completed"] and summary["best_checkpoint"] == "None"
    assert summary["evaluated_checkpoint"].endswith("last.pt") and "last.pt" in summary["selection"]
    assert summary["unseen"]["n_queries"] == 6


def test_train_classes_trains_on_a_fixed_subset_of_the_seen_classes_and_keeps_the_unseen_lists(bench, tmp_path):
    from sbka_lite.data.benchmark import SeenSubset

    subset = SeenSubset(bench, 2)
    assert subset.seen_classes == SeenSubset(bench, 2, seed=0).seen_classes  # one draw, whatever the run's seed
    assert set(subset.seen_classes) < set(bench.seen_classes)
    for split in ("train", "test"):
        rows = subset.items(split, "sketch")
        assert rows and {name for _, name in rows} == set(subset.seen_classes)
    assert subset.items("zero", "photo") == bench.items("zero", "photo")
    with pytest.raises(ValueError, match="has 3 seen classes"):
        SeenSubset(bench, 4)
    result = train(tiny_config(tmp_path, train_classes=2, seed=5), bench, progress=False)
    logged = json.loads((result.run_dir / "history.json").read_text())
    assert logged["seen_classes"] == subset.seen_classes
    assert result.student.seen_head.out_features == 2


def test_a_train_result_prints_in_one_short_line(tmp_path):
    from sbka_lite.config import TrainConfig
    from sbka_lite.paths import repo_root
    from sbka_lite.train import TrainResult

    history = [{"step": i, "loss_cls": 1.0 / (i + 1), "lr": 1e-4} for i in range(5000)]
    result = TrainResult(config=TrainConfig(), run_dir=repo_root() / "outputs" / "runs" / "x", last_checkpoint=tmp_path,
                         best_checkpoint=None, best_val_acc=0.5, best_epoch=3, selection="official", history=history,
                         epochs=[{}] * 20, bad_images=[], completed=True)
    text = repr(result)
    assert len(text) < 300 and "steps=5000" in text and "epochs=20" in text and "best_val_acc=0.5000" in text
    assert str(repo_root()) not in text and "outputs/runs/x" in text  # no path of this machine
