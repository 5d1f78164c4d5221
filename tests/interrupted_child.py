"""Child process for tests/test_interruptions_and_failures.py: train the tiny run and SIGKILL itself at one point
of the epoch-end sequence (``<n>:before`` or ``<n>:after`` the n-th checkpoint write, or
``logs`` after the last checkpoint of the run, before its logs)."""
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import sbka_lite.train as train_module  # noqa: E402
from sbka_lite.trainer import Trainer  # noqa: E402
from train_fakes import FakeBenchmark, tiny_config  # noqa: E402


def rigged_validation():
    """Held-out accuracy 0.4 after epoch 0 and 0.6 after epoch 1: epoch 1 always improves."""
    original = Trainer.start_epoch

    def start_epoch(self, epoch):
        self.rigged_epoch = epoch
        return original(self, epoch)

    Trainer.start_epoch = start_epoch
    Trainer.validate = lambda self, items, bad_log: ((0.4, None), (0.6, None))[self.rigged_epoch]


def kill_at(point: str) -> None:
    real_save, real_logs = train_module.save_checkpoint, train_module.write_logs
    calls = {"n": 0}
    target, when = (point.split(":") + [""])[:2]

    def save(state, path):
        calls["n"] += 1
        if target == str(calls["n"]) and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        real_save(state, path)
        if target == str(calls["n"]) and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    def logs(*args, **kwargs):
        if target == "logs" and calls["n"] == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        real_logs(*args, **kwargs)

    train_module.save_checkpoint, train_module.write_logs = save, logs


if __name__ == "__main__":
    bench_root, run_root, point = sys.argv[1:4]
    rigged_validation()
    kill_at(point)
    train_module.train(tiny_config(Path(run_root)), FakeBenchmark(bench_root), progress=False)
