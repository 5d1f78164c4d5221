"""A training fingerprint: what a fixed-seed tiny run of each code path computes, step by step.

Why: issue 21 ("One SBKA model and a trainer that knows nothing of it") moves the method's code
between `sbka_lite.trainer`, `.objective`, `.models`, `.train` and `.pretrain`, under the rule
"a fixed-seed smoke run gives identical losses before and after this restructure". This module
records that behaviour, and `tests/test_fingerprint.py` compares every arm with the committed
baseline ``tests/data/training_fingerprint.json``, which was made from the code *before* the
restructure.

Refresh the baseline only when a change is **meant** to change training (a new term, a fixed
bug in the maths), never to make a refactoring pass, and say so in the commit message:

    python tests/fingerprint.py --write tests/data/training_fingerprint.json   # all arms
    python tests/fingerprint.py one_way bidirectional                           # print, compare nothing

Each arm (`ARMS`) is `tiny_config` + `FakeBenchmark` (tests/train_fakes.py) with a few overrides:
3 epochs of 2 steps, the first epoch the warm-up (phase 1), the others phase 2, on the CPU, on
one torch thread. A fingerprint holds, per step, every logged loss term, the training accuracy,
lr and phase (`TrainResult.history`); per epoch the held-out validation accuracy and loss; and of
the final weights of the student (and of the teacher, when there is one) a sha256 of the tensors'
bytes plus an order-free summary (element count, sum, sum of |w|, sum of w^2, in float64). The
sha256 is exact-machine evidence only; the summaries are what the test compares across machines.

The teacher's final weights are read from the run's ``last.pt`` (``state["teacher"]``), the only
place `train` exposes them today; if the restructure moves them, adapt `_teacher_state` (and only
it) so that it returns the same tensors.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tiny backbone is random-initialised: never the network

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    # A script's sys.path starts with tests/, not the current folder: without this, `sbka_lite` would be
    # whatever checkout the environment installed (e.g. another worktree's), not this one.
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
from train_fakes import FakeBenchmark, tiny_config  # noqa: E402

BASELINE = Path(__file__).resolve().parent / "data" / "training_fingerprint.json"
SEED = 0
# Every arm: warm-up epoch 0 (phase 1), epochs 1-2 after it (phase 2 where the teacher learns), 2 steps each.
# lr_final_factor 0.5 (not the official 0.001): the decay still acts, but phase 2 keeps a rate whose effects show.
COMMON: dict[str, Any] = dict(epochs=3, warmup_epochs=1, steps_per_epoch=2, lr_final_factor=0.5, seed=SEED,
                              device="cpu", amp=False)

# name -> TrainConfig overrides. Together they run every branch of the objective (each term on and
# off, both align features, both detach settings) and of the trainer (no teacher / frozen teacher /
# learning teacher, teacher lr factor, phase-2 lr scale applied or ignored, BatchNorm frozen or not).
ARMS: dict[str, dict[str, Any]] = {
    # plain fine-tuning: L_cls only; the ImageNet head frozen (no term reads it)
    "finetune": dict(alignment="none", gaussian=False),
    # fine-tuning + L_align on the layer-normalised feature
    "finetune_gaussian_layernorm": dict(alignment="none", gaussian=True, gaussian_feature="layernorm"),
    # one-way: L_cls + L_KA^S + L_align(raw); phase2_lr_scale must be ignored (no phase 2 without a learning teacher)
    "one_way": dict(alignment="teacher_to_student", gaussian=True, phase2_lr_scale=3.0),
    # one-way without L_align, BatchNorm frozen in the student
    "one_way_plain_freeze_norm": dict(alignment="teacher_to_student", gaussian=False, freeze_norm=True),
    # the default method: both directions, L_align(raw), the teacher's target detached
    "bidirectional": dict(alignment="bidirectional", gaussian=True),
    # both directions without L_align
    "bidirectional_plain": dict(alignment="bidirectional", gaussian=False),
    # the official script's undetached L_KA^T: the student also minimises it in phase 2
    "bidirectional_grad_to_student": dict(alignment="bidirectional", gaussian=True, teacher_grad_to_student=True),
    # the teacher head's lr 10x the student's
    "bidirectional_teacher_lr10": dict(alignment="bidirectional", gaussian=True, teacher_lr_factor=10.0),
    # phase-2 lr scaled (student and teacher)
    "bidirectional_phase2_lr_scale": dict(alignment="bidirectional", gaussian=True, phase2_lr_scale=0.25),
    # L_align on the layer-normalised feature, BatchNorm frozen in the student
    "bidirectional_layernorm_freeze_norm": dict(alignment="bidirectional", gaussian=True, gaussian_feature="layernorm",
                                                freeze_norm=True),
}

STEP_KEYS = ("step", "epoch", "phase", "lr", "loss_student", "loss_cls", "loss_ka_student", "loss_ka_teacher",
             "loss_gaussian", "train_acc", "images")
EPOCH_KEYS = ("epoch", "phase", "val_acc", "val_loss")


def arm_config(arm: str, tmp_dir: str | os.PathLike):
    """The `TrainConfig` of `arm`, its run folder under `tmp_dir`."""
    if arm not in ARMS:
        raise KeyError(f"unknown arm {arm!r}; arms: {', '.join(ARMS)}")
    return tiny_config(Path(tmp_dir) / arm, **{**COMMON, **ARMS[arm]})


def _float_tensors(state: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    return [t.detach().cpu() for t in state.values() if torch.is_tensor(t) and t.is_floating_point()]


def weight_summary(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """sha256 of the floating tensors' bytes (in state-dict order) and an order-free float64 summary."""
    tensors = _float_tensors(state)
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.contiguous().numpy().tobytes())
    flat = torch.cat([t.reshape(-1).double() for t in tensors]) if tensors else torch.zeros(0, dtype=torch.float64)
    return {"sha256": digest.hexdigest(), "n": int(flat.numel()), "sum": float(flat.sum()),
            "sum_abs": float(flat.abs().sum()), "sum_sq": float((flat * flat).sum())}


def _teacher_state(result) -> dict[str, torch.Tensor] | None:
    """The final teacher's weights (its frozen backbone and its head), or None for a run without one."""
    from sbka_lite.checkpoint import load_checkpoint

    part = load_checkpoint(result.last_checkpoint).get("teacher")
    return None if part is None else part["state"]


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def fingerprint(arm: str, tmp_dir: str | os.PathLike) -> dict[str, Any]:
    """Train `arm` (on the CPU, one torch thread) and return its fingerprint (see the module docstring)."""
    import sbka_lite
    from sbka_lite.train import train

    if Path(sbka_lite.__file__).resolve().parent != REPO / "sbka_lite":
        raise RuntimeError(f"sbka_lite is imported from {Path(sbka_lite.__file__).parent}, not from this checkout "
                           f"({REPO}): a fingerprint of other code. Run from {REPO} (python -m pytest, or "
                           "python tests/fingerprint.py)")
    tmp_dir = Path(tmp_dir)
    config = arm_config(arm, tmp_dir)
    benchmark = FakeBenchmark(tmp_dir / "bench")  # deterministic images; reused when already written
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same reduction order whatever the machine's cores
    try:
        result = train(config, benchmark, progress=False)
    finally:
        torch.set_num_threads(threads)
    if not result.completed:
        raise RuntimeError(f"arm {arm}: the run did not complete")
    steps = [{key: _number(row.get(key)) for key in STEP_KEYS} for row in result.history]
    epochs = [{key: _number(row.get(key)) for key in EPOCH_KEYS} for row in result.epochs]
    teacher = _teacher_state(result)
    return {"overrides": ARMS[arm], "steps": steps, "epochs": epochs,
            "student": weight_summary(result.student.state_dict()),
            "teacher": None if teacher is None else weight_summary(teacher)}


def compare(found: dict[str, Any], expected: dict[str, Any], *, rel: float = 1e-5, weight_rel: float = 1e-5) -> list[str]:
    """What differs between two fingerprints of one arm (empty: the same training), sha256 aside.

    Logged numbers: within `rel` relative (1e-12 absolute for exact zeros); None must stay None. (1e-5, not
    less: an AVX2 CPU and an AVX-512 one differ by up to 1.6e-6 relative by the sixth step of these arms.)
    Weights: count equal; sum within `weight_rel` of sum |w|; sum |w| and sum w^2 within `weight_rel`."""
    problems = []
    if found["overrides"] != expected["overrides"]:
        problems.append(f"overrides changed: {expected['overrides']} -> {found['overrides']} (refresh the baseline?)")
    for kind in ("steps", "epochs"):
        if len(found[kind]) != len(expected[kind]):
            problems.append(f"{kind}: {len(expected[kind])} rows expected, {len(found[kind])} found")
            continue
        for index, (row, want) in enumerate(zip(found[kind], expected[kind])):
            for key in sorted(set(row) | set(want)):
                a, b = row.get(key), want.get(key)
                if a is None or b is None or isinstance(a, str) or isinstance(b, str):
                    same = a == b
                else:
                    same = math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
                if not same:
                    problems.append(f"{kind}[{index}] {key}: expected {b!r}, found {a!r}")
    for model in ("student", "teacher"):
        a, b = found[model], expected[model]
        if (a is None) != (b is None):
            problems.append(f"{model}: expected {'none' if b is None else 'one'}, found {'none' if a is None else 'one'}")
            continue
        if a is None:
            continue
        if a["n"] != b["n"]:
            problems.append(f"{model} weights: {b['n']} numbers expected, {a['n']} found")
            continue
        if not math.isclose(a["sum"], b["sum"], rel_tol=0, abs_tol=weight_rel * b["sum_abs"]):
            problems.append(f"{model} weights: sum {a['sum']!r}, expected {b['sum']!r}")
        for key in ("sum_abs", "sum_sq"):
            if not math.isclose(a[key], b[key], rel_tol=weight_rel):
                problems.append(f"{model} weights: {key} {a[key]!r}, expected {b[key]!r}")
    return problems


def fingerprints(arms: list[str] | None = None, tmp_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sbka-fingerprint-") as scratch:
        where = Path(tmp_dir) if tmp_dir else Path(scratch)
        return {arm: fingerprint(arm, where) for arm in (arms or list(ARMS))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("arms", nargs="*", help=f"arms to run (default: all): {', '.join(ARMS)}")
    parser.add_argument("--write", metavar="JSON", help="write the fingerprints of all arms here (the baseline)")
    parser.add_argument("--check", action="store_true", help="compare with the committed baseline; exit 1 on a difference")
    args = parser.parse_args(argv)
    if args.write and args.arms:
        parser.error("--write records every arm: name none")
    unknown = [arm for arm in args.arms if arm not in ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; arms: {', '.join(ARMS)}")
    found = fingerprints(args.arms or None)
    if args.write:
        document = {"about": "tests/fingerprint.py: fixed-seed tiny runs per arm; refresh only for an intended change",
                    "torch": torch.__version__, "arms": found}
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(json.dumps(document, indent=1) + "\n")
        print(f"wrote {len(found)} arms to {args.write}")
        return 0
    if args.check:
        baseline = json.loads(BASELINE.read_text())["arms"]
        failed = 0
        for arm, print_ in found.items():
            problems = compare(print_, baseline[arm])
            failed += bool(problems)
            print(f"{arm}: {'OK' if not problems else 'DIFFERS'}")
            for line in problems[:8]:
                print("   ", line)
        return 1 if failed else 0
    print(json.dumps(found, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
