"""What a run refuses (issue 20): damaged checkpoints, hostile configs, two processes on one run
folder or one benchmark; and files written with the user's umask."""
import errno
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import torch

import sbka_lite.data.synthetic.writer as writer
import sbka_lite.train as train_module
from sbka_lite.checkpoint import CheckpointError, load_checkpoint, load_student, save_checkpoint
from sbka_lite.config import ConfigError, TrainConfig, parse_set_overrides
from sbka_lite.data.synthetic import make_synthetic_benchmark
from sbka_lite.models import Student
from sbka_lite.paths import atomic_write, exclusive
from train_fakes import TINY_BACKBONE, FakeBenchmark, tiny_config

HERE = Path(__file__).parent


# ----------------------------------------------------------------- damaged checkpoints
def _flip_a_byte_inside(path: Path, member_suffix: str) -> None:
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if i.filename.endswith(member_suffix)), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    data[info.header_offset + 100 + info.file_size // 2] ^= 0x10  # well inside the member's data
    path.write_bytes(bytes(data))


def test_a_checkpoint_with_a_flipped_byte_is_refused_on_load(tmp_path):
    student = Student(TINY_BACKBONE, 3, pretrained=False)
    path = save_checkpoint({"student": student.state_dict(), "backbone": TINY_BACKBONE, "seen_classes": ["a", "b", "c"],
                            "embedding_dim": student.embedding_dim, "image_size": 32}, tmp_path / "best.pt")
    load_student(path)  # intact: loads
    with zipfile.ZipFile(path) as archive:  # the largest tensor: a weight
        biggest = max(archive.infolist(), key=lambda i: i.file_size).filename
    _flip_a_byte_inside(path, biggest)
    with pytest.raises(CheckpointError, match=r"best.pt is damaged: .* fails its CRC-32 check"):
        load_student(path)


def test_resume_from_a_damaged_last_pt_is_refused_naming_it(tmp_path):
    bench = FakeBenchmark(tmp_path / "bench")
    config = tiny_config(tmp_path, stop_after_steps=2)
    train_module.train(config, bench, progress=False)
    last = Path(config.run_dir) / "last.pt"
    _flip_a_byte_inside(last, "")
    with pytest.raises(CheckpointError, match="last.pt is damaged"):
        train_module.train(config.replace(stop_after_steps=0), bench, progress=False)


# ----------------------------------------------------------------- hostile configs
@pytest.mark.parametrize("content, message", [
    (b"\x00\x01\x02binary", r"holds NUL bytes at offset 0: a binary file"),
    ("lr: 1e-4\n".encode("utf-16"), r"is UTF-16 text; save it as UTF-8"),
    (b"lr: \xff\xfe\x80 1e-4\n", r"is not UTF-8 text \(byte 0xff at offset 4\)"),
    (b"lr: [&a [x, x], &b [*a, *a], &c [*b, *b], *c]\n", r"line 1: YAML aliases \(\*name\) are not allowed"),
])
def test_unreadable_config_files_are_named_with_their_problem(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_yaml(path)


def test_a_config_path_at_a_folder_says_it_is_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is a folder; name a YAML file in it"):
        TrainConfig.from_yaml(tmp_path)


def test_huge_values_make_short_messages():
    nested = [["x"] * 10]
    for _ in range(12):  # what a YAML alias bomb builds: 10**13 elements when printed in full
        nested = [nested] * 10
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({"lr": nested})
    assert len(str(caught.value)) < 300 and time.perf_counter() - started < 5
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({"x" * 5000: 1})
    assert len(str(caught.value)) < 1500


@pytest.mark.parametrize("name", ["..", ".", "x" * 5000, "a/b", "", "tab\tname", "naïve"])
def test_impossible_run_names_are_refused(name):
    with pytest.raises(ConfigError, match="run_name=.*must be a folder name"):
        TrainConfig(run_name=name)


def test_a_run_slug_is_a_valid_run_name():
    from sbka_lite.config import run_slug
    TrainConfig(run_name=run_slug(TrainConfig(lr=1e-4, gaussian=False, w_ka=0.5)))


def test_set_values_with_aliases_are_refused():
    with pytest.raises(ConfigError, match="aliases"):
        parse_set_overrides(["lr=[&a 1, *a]"])


# ----------------------------------------------------------------- one process per run folder
CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {here!r})
    import sbka_lite.train as train_module
    from train_fakes import FakeBenchmark, tiny_config
    real = train_module.save_checkpoint
    def slow(state, path):  # hold the run folder long enough for the parent to arrive
        time.sleep(1.5)
        return real(state, path)
    train_module.save_checkpoint = slow
    result = train_module.train(tiny_config(Path({root!r})), FakeBenchmark({bench!r}), progress=False)
    print("child done", result.completed, flush=True)
""")


def test_a_second_process_on_one_run_folder_waits_and_uses_the_finished_run(tmp_path, capfd):
    bench = FakeBenchmark(tmp_path / "bench")
    script = CHILD.format(here=str(HERE), root=str(tmp_path), bench=str(tmp_path / "bench"))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock = tmp_path / "run" / train_module.LOCK_FILE
    deadline = time.time() + 120
    while not (lock.is_file() and lock.read_text().startswith(f"process {child.pid}")):
        assert child.poll() is None and time.time() < deadline, child.stdout.read() if child.poll() is not None else "timeout"
        time.sleep(0.05)
    result = train_module.train(tiny_config(tmp_path), bench, progress=False)
    output, _ = child.communicate(timeout=120)
    assert "child done True" in output, output
    assert result.completed and result.student is None  # it found the finished run: nothing trained twice
    assert f"process {child.pid} on" in capfd.readouterr().err  # it said whom it waited for


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from sbka_lite.paths import exclusive
        with exclusive({str(lock)!r}, "holding"):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    started = time.perf_counter()
    with exclusive(lock, "testing"):
        pass
    assert time.perf_counter() - started < 5


def test_two_generations_of_one_benchmark_render_it_once(tmp_path, monkeypatch):
    calls = []
    real = writer._generate
    monkeypatch.setattr(writer, "_generate", lambda *a, **k: (calls.append(1), real(*a, **k)))
    root = tmp_path / "bench"
    kwargs = dict(classes=["cat", "car", "teapot"], sketches_per_class=2, test_sketches_per_class=1, photos_per_class=2,
                  unseen_sketches_per_class=1, unseen_photos_per_class=1, image_size=32, n_workers=1, progress=False)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from sbka_lite.data.synthetic import make_synthetic_benchmark
        from sbka_lite.paths import exclusive
        with exclusive({str(tmp_path / '.bench.lock')!r}, "generating"):
            print("held", flush=True)
            make_synthetic_benchmark({str(root)!r}, **{kwargs!r})
            time.sleep(1)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    make_synthetic_benchmark(root, **kwargs)  # waits for the holder, then finds its benchmark complete
    assert holder.wait(timeout=60) == 0
    assert calls == []


def test_a_full_disk_during_generation_names_the_folder_and_the_space(tmp_path, monkeypatch):
    def full(jobs, workers, progress):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, "_render_all", full)
    with pytest.raises(OSError, match=r"no space left on the device while writing the synthetic benchmark into "
                                      rf"{tmp_path} \(about \d+ MB needed for \d+ images") as caught:
        make_synthetic_benchmark(tmp_path / "bench", classes=["cat", "teapot"], progress=False, n_workers=1)
    assert caught.value.errno == errno.ENOSPC
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


# ----------------------------------------------------------------- permissions
def test_files_are_written_with_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.json", "w") as stream:
            stream.write("{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
        os.umask(0o077)
        save_checkpoint({"x": torch.zeros(1)}, tmp_path / "c.pt")
        assert stat.S_IMODE((tmp_path / "c.pt").stat().st_mode) == 0o600
        assert load_checkpoint(tmp_path / "c.pt")["x"].shape == (1,)
    finally:
        os.umask(old)
