"""What a training run writes beside its checkpoints: ``steps.csv`` (one row per step),
``epochs.csv`` (one row per epoch) and ``history.json`` (both, with the config), each through
the one atomic writer so an interrupted run never leaves half a log."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from .checkpoint import RunState
from .objective import TERMS
from .paths import atomic_write


def epoch_row(epoch: int, phase: int, lr: float, rows: list[dict], val_acc, seconds: float) -> dict:
    row = {"epoch": epoch, "phase": phase, "lr": lr, "steps": len(rows)}
    for name in ("loss_student", *TERMS, "train_acc"):
        values = [r[name] for r in rows if r.get(name) is not None]
        row[name] = float(np.mean(values)) if values else None
    images = sum(r["images"] for r in rows)
    row.update(val_acc=val_acc, images=images, seconds=seconds, images_per_s=images / seconds if seconds else None)
    return row


def _csv_text(rows: list[dict]) -> str:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue()


def write_logs(run_dir: Path, state: RunState, extra: dict) -> None:
    payload = {**extra, "epochs": state.epoch_rows, "steps": state.history, "bad_images": state.bad_log.bad}
    for name, text in (("steps.csv", _csv_text(state.history)), ("epochs.csv", _csv_text(state.epoch_rows)),
                       ("history.json", json.dumps(payload, indent=1))):
        with atomic_write(run_dir / name, "w") as stream:
            stream.write(text)
    if state.bad_log.bad:
        with atomic_write(run_dir / "bad_images.txt", "w") as stream:
            stream.write("\n".join(state.bad_log.bad) + "\n")


