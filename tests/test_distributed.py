"""Training with torch.distributed: two gloo ranks on CPU agree on every loss and weight, and one rank writes."""
import os
import socket
from pathlib import Path

import pytest
import torch

import sbka_lite.train as train_module
from sbka_lite.checkpoint import load_checkpoint
from sbka_lite.train import train
from train_fakes import FakeBenchmark, tiny_config


def _ddp_worker(rank, world_size, port, root, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank), HF_HUB_OFFLINE="1")
    torch.set_num_threads(1)
    writes = []  # every file write of this process goes through these two functions
    for name in ("save_checkpoint", "write_logs"):
        original = getattr(train_module, name)
        setattr(train_module, name, lambda *a, _original=original, _name=name: (writes.append(_name), _original(*a))[1])
    bench = FakeBenchmark(Path(root) / "data")
    result = train(tiny_config(Path(root), sketches_per_batch=4, photos_per_batch=6), bench, progress=False)
    # what this rank holds in memory at the end (the unwrapped DDP replica)
    torch.save({"history": result.history, "student": result.student.state_dict(), "writes": writes},
               Path(out) / f"rank{rank}.pt")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_distributed_two_processes_on_cpu(tmp_path):
    """gloo, 2 ranks: identical final weights (checked against rank 0's checkpoint), one set of files."""
    import torch.multiprocessing as mp

    FakeBenchmark(tmp_path / "data")  # write the images once, before the ranks read them
    (tmp_path / "out").mkdir()
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path), str(tmp_path / "out")), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / "out" / f"rank{r}.pt", weights_only=True) for r in range(2)]
    # both ranks log the same (all-reduced) losses
    assert [r["loss_student"] for r in ranks[0]["history"]] == [r["loss_student"] for r in ranks[1]["history"]]
    assert all(r["images"] == 10 for r in ranks[0]["history"])  # the global batch, 5 per rank
    assert ranks[1]["writes"] == [] and "save_checkpoint" in ranks[0]["writes"] and "write_logs" in ranks[0]["writes"]
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == [".lock", "best.pt", "config.json", "epochs.csv", "history.json", "last.pt", "steps.csv"]
    assert (tmp_path / "run" / "steps.csv").read_text().count("\n") == 5  # one writer: header + 4 steps
    # DDP keeps replicas identical: rank 1's final model equals rank 0's checkpoint
    saved = load_checkpoint(tmp_path / "run" / "last.pt")["student"]
    for key, value in saved.items():
        assert torch.equal(ranks[0]["student"][key], value) and torch.equal(ranks[1]["student"][key], value), key
