"""The learning-rate schedule, and the optimisation budget it spends.

    python -m sbka_lite.schedule configs/demo.yaml     # steps and summed rate per phase, beside the official run

The official scripts set ``lr * 0.001 ** (epoch / 20)`` once per epoch. What a run can learn is
bounded by the learning rate summed over its steps, so a miniature is compared with the official
run by that sum, per phase, not by its number of epochs (docs/METHOD.md, "Scaling the official
regime down"): 4 epochs of 30 steps keep the official *shape* but spend 1/46 of its budget.

Plain functions of a config (a `TrainConfig`, or anything with the keys they read); no torch.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, fields
from typing import Any

from .config import TrainConfig

# Sketchy Ext split 1 in the official script: 20 epochs of 489 steps, lr 1e-4, warm-up epochs 0-9.
OFFICIAL_SKETCHY = {"epochs": 20, "warmup_epochs": 10, "steps_per_epoch": 489, "lr": 1e-4, "lr_final_factor": 0.001}


@dataclass(frozen=True)
class Schedule:
    """What the schedule reads (the `TrainConfig` keys of the same names)."""

    lr: float
    epochs: int
    warmup_epochs: int
    lr_final_factor: float = 0.001
    phase2_lr_scale: float = 1.0
    teacher_lr_factor: float = 1.0

    @classmethod
    def pick(cls, source) -> "Schedule":
        """The schedule of `source` (a `TrainConfig`, or anything with these attributes)."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls)})


def is_phase_two_epoch(config, epoch: int) -> bool:
    """Whether `epoch` lies after the warm-up (the teacher learns there only when it is bidirectional)."""
    return epoch >= config.warmup_epochs


def student_lr(config, epoch: int, *, teacher_learns: bool = True) -> float:
    """The student's rate in `epoch`: the official decay, times ``phase2_lr_scale`` in phase 2.

    ``phase2_lr_scale`` applies only where phase 2 exists, i.e. when the teacher learns
    (``teacher_learns``; a one-way or fine-tuning run has no phase 2)."""
    scale = config.phase2_lr_scale if teacher_learns and is_phase_two_epoch(config, epoch) else 1.0
    return config.lr * config.lr_final_factor ** (epoch / config.epochs) * scale


def teacher_lr(config, epoch: int) -> float:
    """The teacher head's rate in `epoch` (it only steps in phase 2 of a bidirectional run)."""
    return student_lr(config, epoch) * config.teacher_lr_factor


def budget(config: Any, steps_per_epoch: int | None = None) -> dict[str, Any]:
    """Steps and summed learning rate per phase, for the student and (phase 2) the teacher's head.

    `steps_per_epoch` defaults to ``config.steps_per_epoch`` (which must then be set). Also the
    phase-2 share of the student's summed rate: officially 3.1 % (Sketchy: 5.1e-3 of 0.167).
    ``config`` may be a `TrainConfig` or a mapping of its keys.
    """
    if isinstance(config, dict):
        config = _Keys({"phase2_lr_scale": 1.0, "teacher_lr_factor": 1.0, **config})
    steps = int(steps_per_epoch if steps_per_epoch is not None else config.steps_per_epoch)
    if steps <= 0:
        raise ValueError("budget needs the number of steps per epoch (steps_per_epoch is 0: one pass over the data)")
    phases = {}
    for phase, epochs in (("phase1", range(0, min(config.warmup_epochs, config.epochs))),
                          ("phase2", range(min(config.warmup_epochs, config.epochs), config.epochs))):
        phases[phase] = {"epochs": len(epochs), "steps": steps * len(epochs),
                         "student_lr_sum": steps * sum(student_lr(config, e) for e in epochs),
                         "teacher_lr_sum": steps * sum(teacher_lr(config, e) for e in epochs) if phase == "phase2" else 0.0,
                         "lr_first": student_lr(config, epochs[0]) if len(epochs) else None,
                         "lr_last": student_lr(config, epochs[-1]) if len(epochs) else None}
    total = phases["phase1"]["student_lr_sum"] + phases["phase2"]["student_lr_sum"]
    return {"steps_per_epoch": steps, "total_steps": steps * config.epochs, "student_lr_sum": total,
            "phase2_share": phases["phase2"]["student_lr_sum"] / total if total else 0.0, **phases}


class _Keys:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sbka_lite.schedule", description="the budget a recipe spends")
    parser.add_argument("config", help="a YAML recipe (configs/*.yaml) with steps_per_epoch set")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="for recipes with steps_per_epoch: 0")
    args = parser.parse_args(argv)
    recipe = budget(TrainConfig.from_yaml(args.config), args.steps_per_epoch)
    print(json.dumps({"recipe": recipe, "official_sketchy": budget(OFFICIAL_SKETCHY),
                      "share_of_official_budget": recipe["student_lr_sum"] / budget(OFFICIAL_SKETCHY)["student_lr_sum"]},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
