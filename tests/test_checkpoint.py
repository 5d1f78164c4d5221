"""Atomic checkpoints, weights-only loading, RNG round trips and `load_student`."""
import pickle
import random

import numpy as np
import pytest
import torch

from sbka_lite.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_student,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from sbka_lite.models import Student
from train_fakes import TINY_BACKBONE


def test_round_trip_keeps_tensors_and_plain_values(tmp_path):
    state = {"weights": torch.arange(6.0).view(2, 3), "config": {"lr": 1e-4, "name": "x", "flags": [True, None]},
             "classes": ["a b", "c"], "step": 7}
    path = save_checkpoint(state, tmp_path / "sub" / "c.pt")
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["weights"], state["weights"])
    assert loaded["config"] == state["config"] and loaded["classes"] == state["classes"] and loaded["step"] == 7
    assert loaded["format"] == "sbka-lite-checkpoint"
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temporary left behind


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = save_checkpoint({"step": 1}, tmp_path / "last.pt")

    def broken_save(obj, stream):
        stream.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


class _Payload:
    def __reduce__(self):  # would run code on a plain torch.load
        return (print, ("executed!",))


def test_loading_refuses_code_foreign_files_and_missing_paths(tmp_path):
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as stream:
        pickle.dump({"format": "sbka-lite-checkpoint", "x": _Payload()}, stream, protocol=2)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(evil)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": torch.zeros(1)}, foreign)
    with pytest.raises(CheckpointError, match="not an sbka-lite checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
    newer = save_checkpoint({"version": 99}, tmp_path / "newer.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(newer)


def test_rng_state_round_trip_through_a_checkpoint(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    save_checkpoint({"rng": rng_state()}, tmp_path / "r.pt")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def _student_checkpoint(tmp_path, classes=("cat", "dog", "owl")):
    torch.manual_seed(0)
    student = Student(TINY_BACKBONE, len(classes), pretrained=False)
    path = save_checkpoint({"student": student.state_dict(), "backbone": TINY_BACKBONE,
                            "embedding_dim": student.embedding_dim, "seen_classes": list(classes),
                            "image_size": 48, "config": {"seed": 0}, "epoch": 3, "step": 30}, tmp_path / "best.pt")
    return student.eval(), path


def test_load_student_rebuilds_the_same_model(tmp_path):
    original, path = _student_checkpoint(tmp_path)
    student, meta = load_student(path)
    x = torch.randn(2, 3, 48, 48)
    assert torch.allclose(student.embed(x), original.embed(x), atol=1e-6)
    assert not student.training and student.input_size == 48
    assert meta["backbone"] == TINY_BACKBONE and meta["seen_classes"] == ["cat", "dog", "owl"]
    assert meta["embedding_dim"] == original.embedding_dim and meta["epoch"] == 3


def test_load_student_names_backbone_and_size_mismatches(tmp_path):
    _, path = _student_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="'tf_efficientnet_lite0' was expected"):
        load_student(path, backbone="tf_efficientnet_lite0")
    with pytest.raises(CheckpointError, match="1280-d were expected"):
        load_student(path, embedding_dim=1280)
    # weights of another architecture filed under this backbone's name
    state = load_checkpoint(path)
    state["student"] = {k: v for k, v in state["student"].items() if not k.startswith("seen_head")}
    bad = save_checkpoint({k: v for k, v in state.items() if k not in ("format", "version")}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_student(bad)
    no_student = save_checkpoint({"step": 1}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="not a student checkpoint"):
        load_student(no_student)
