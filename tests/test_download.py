"""Download machinery without network: safe extraction, hash-checked fetching, the data scripts."""
from __future__ import annotations

import importlib.util
import io
import shutil
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fakes import make_quickdraw, make_sketchy, make_tuberlin
from sbka_lite.data import DatasetError, open_benchmark
from sbka_lite.data import archives, download
from sbka_lite.data.download import (
    MARKER,
    DamagedArchiveError,
    DownloadError,
    UnsafeArchiveError,
    fetch,
    is_extracted,
    safe_extract,
    sha256_of,
)

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- archive builders

def make_zip(path: Path, files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def make_tar(path: Path, files: dict[str, bytes], links: dict[str, tuple[bytes, str]] | None = None,
             mode: str = "w:gz") -> Path:
    """``links``: name -> (tarfile type, target)."""
    with tarfile.open(path, mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return path


def archive_tree(source: Path, archive: Path) -> Path:
    """Zip or tar (by suffix) everything under ``source``, names relative to it."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as out:
            for path in sorted(source.rglob("*")):
                out.write(path, path.relative_to(source).as_posix())
    else:
        with tarfile.open(archive, "w:gz") as out:
            out.add(source, arcname=".")
    return archive


GOOD = {"data/a.txt": b"alpha", "data/sub dir/b (1).txt": b"beta", "top.txt": b"top"}


# ----------------------------------------------------------------------------- safe_extract

@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_safe_extract_unpacks_and_marks_completion(tmp_path, kind, monkeypatch):
    archive = tmp_path / f"good.{kind}"
    if kind == "zip":
        make_zip(archive, GOOD, symlinks={"data/link": "a.txt"})
    else:
        mode = "w" if kind == "tar" else "w:" + kind.split(".")[1]
        make_tar(archive, GOOD, links={"data/link": (tarfile.SYMTYPE, "a.txt")}, mode=mode)
    dest = tmp_path / "out"
    assert safe_extract(archive, dest, progress=False) == dest
    for name, data in GOOD.items():
        assert (dest / name).read_bytes() == data
    assert (dest / "data" / "link").is_symlink() and (dest / "data" / "link").read_bytes() == b"alpha"
    assert is_extracted(dest) and (dest / MARKER).is_file()
    assert not list(tmp_path.glob(".*partial"))

    def boom(*args, **kwargs):
        raise AssertionError("extracted twice")

    monkeypatch.setattr(archives, "_extract_members", boom)
    assert safe_extract(archive, dest, progress=False) == dest  # finished before: nothing to do


MALICIOUS = {
    "zip: ../ path": ("zip", {"../evil.txt": b"x"}, {}, "'..'"),
    "zip: absolute path": ("zip", {"/tmp/sbka_abs_evil.txt": b"x"}, {}, "absolute"),
    "zip: symlink escape": ("zip", {"ok.txt": b"x"}, {"link": "../../outside"}, "outside the destination"),
    "zip: symlink chain": ("zip", {"ok.txt": b"x"}, {"d": ".", "e": "d/.."}, "outside the destination"),
    "tar: ../ path": ("tar", {"../evil.txt": b"x"}, {}, "'..'"),
    "tar: absolute path": ("tar", {"/tmp/sbka_abs_evil.txt": b"x"}, {}, "absolute"),
    "tar: absolute symlink": ("tar", {"ok.txt": b"x"}, {"link": (tarfile.SYMTYPE, "/etc")}, "absolute"),
    "tar: symlink escape": ("tar", {"ok.txt": b"x"}, {"link": (tarfile.SYMTYPE, "../outside")}, "outside"),
    "tar: file under symlink": ("tar", {"up/evil.txt": b"x"}, {"up": (tarfile.SYMTYPE, "sub")}, "under the symlink"),
    "tar: symlink chain": ("tar", {"ok.txt": b"x"}, {"d": (tarfile.SYMTYPE, "."), "e": (tarfile.SYMTYPE, "d/..")},
                           "outside"),
    "tar: hardlink escape": ("tar", {"ok.txt": b"x"}, {"hl": (tarfile.LNKTYPE, "../../etc/passwd")}, "outside"),
    "tar: device file": ("tar", {"ok.txt": b"x"}, {"dev": (tarfile.CHRTYPE, "")}, "special file"),
}


@pytest.mark.parametrize("case", list(MALICIOUS), ids=list(MALICIOUS))
def test_safe_extract_refuses_malicious_archives(tmp_path, case):
    kind, files, links, why = MALICIOUS[case]
    archive = tmp_path / "in" / f"bad.{kind}"
    archive.parent.mkdir()
    if kind == "zip":
        make_zip(archive, files, symlinks=links)
    else:
        make_tar(archive, files, links=links)
    dest = tmp_path / "box" / "out"
    with pytest.raises(UnsafeArchiveError) as err:
        safe_extract(archive, dest, progress=False)
    assert why in str(err.value) and "bad." in str(err.value)
    assert not dest.exists() and not list(dest.parent.glob(".*partial"))
    written = {p.name for p in tmp_path.rglob("*")}
    assert "evil.txt" not in written and not Path("/tmp/sbka_abs_evil.txt").exists()


def test_a_half_extraction_is_detected_and_redone(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "good.zip", GOOD)
    dest = tmp_path / "out"
    real_copy = shutil.copyfileobj
    calls = []

    def interrupted(source, sink, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-way
        return real_copy(source, sink, *args)

    monkeypatch.setattr(archives.shutil, "copyfileobj", interrupted)
    with pytest.raises(KeyboardInterrupt):
        safe_extract(archive, dest, progress=False)
    assert not dest.exists() and not is_extracted(dest)
    monkeypatch.setattr(archives.shutil, "copyfileobj", real_copy)

    (tmp_path / ".out.partial" / "junk").mkdir(parents=True)  # a leftover from a killed process
    safe_extract(archive, dest, progress=False)
    assert is_extracted(dest) and not (dest / "junk").exists()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(DatasetError, match="no completion marker"):
        safe_extract(archive, foreign, progress=False)
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(DatasetError, match="neither a zip nor a tar"):
        safe_extract(tmp_path / "plain.txt", tmp_path / "x", progress=False)


# ----------------------------------------------------------------------------- fetch

def test_fetch_verifies_and_caches(tmp_path, monkeypatch):
    source = tmp_path / "mirror" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(b"benchmark bytes")
    digest = sha256_of(source, progress=False)
    copies = []
    real = download._copy_local

    def counting(*args, **kwargs):
        copies.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(download, "_copy_local", counting)
    url = source.as_uri()
    path = fetch(url, digest, tmp_path / "cache", progress=False)
    assert path.read_bytes() == b"benchmark bytes" and len(copies) == 1
    assert fetch(url, digest, tmp_path / "cache", progress=False) == path and len(copies) == 1  # cached

    with pytest.raises(DownloadError, match="does not match the expected SHA-256"):
        fetch(url, "0" * 64, tmp_path / "other", progress=False)


def test_fetch_trusts_on_first_use_then_verifies(tmp_path, capsys):
    source = tmp_path / "data.bin"
    source.write_bytes(b"version one")
    cache = tmp_path / "cache"
    path = fetch(source.as_uri(), None, cache, progress=False)
    recorded = (cache / "data.bin.sha256").read_text().strip()
    assert recorded == sha256_of(source, progress=False)
    assert "TRUST ON FIRST USE" in capsys.readouterr().err

    source.write_bytes(b"version two: changed upstream")
    assert fetch(source.as_uri(), None, cache, progress=False).read_bytes() == b"version one"  # verified, kept
    path.write_bytes(b"corrupted")  # the cached copy rots: re-download, which no longer matches
    with pytest.raises(DownloadError, match="does not match"):
        fetch(source.as_uri(), None, cache, progress=False)


def test_fetch_fails_fast_where_it_cannot_download(tmp_path):
    with pytest.raises(DownloadError, match="needs a browser"):
        fetch(download.SBKA_BUNDLE.url, None, tmp_path, progress=False)
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="could not download"):
        fetch("http://127.0.0.1:9/dataset.zip", None, tmp_path / "cache", progress=False, timeout=5)
    assert time.perf_counter() - start < 15
    assert not [p for p in (tmp_path / "cache").iterdir()]  # no half file left behind


# ----------------------------------------------------------------------------- the scripts

def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "data_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_get_sketchy_installs_from_an_archive_and_checks_sizes(tmp_path, capsys):
    split2 = dict(zero_folder="zeroshot2", seen=("pig", "cup", "car_(sedan)"), unseen=("hot-air_balloon", "teddy_bear"))
    staging = tmp_path / "staging"
    make_sketchy(staging / "dataset" / "Sketchy")  # like SAKE's zip: dataset/Sketchy/..., split 1 lists only
    make_sketchy(staging / "dataset" / "Sketchy", **split2)  # ... but every image
    shutil.rmtree(staging / "dataset" / "Sketchy" / "zeroshot2")
    archive = archive_tree(staging, tmp_path / "dataset.zip")
    data = tmp_path / "data"
    script = load_script("get_sketchy")

    assert script.main(["--root", str(data), "--archive", str(archive)]) == 1  # tiny copy: sizes differ
    out = capsys.readouterr().out
    assert "SHA-256 of dataset.zip" in out and "MISMATCH" in out
    assert "sketchy_split2: the archive holds no zeroshot2" in out and "drive.google.com" in out
    bench = open_benchmark(data, "sketchy")
    assert bench.root == (data / "Sketchy").resolve() and bench.seen_classes == ["pig", "hot-air_balloon", "car_(sedan)"]
    assert is_extracted(data / "_extracted" / "dataset")

    # a second archive brings split 2: only its zero folder is added
    more = tmp_path / "more"
    make_sketchy(more / "Sketchy", **split2)
    archive2 = archive_tree(more, tmp_path / "bundle.tar.gz")
    assert script.main(["--root", str(data), "--archive", str(archive2)]) == 1
    assert "sketchy_split2: added" in capsys.readouterr().out
    assert open_benchmark(data, "sketchy_split2").unseen_classes == ["hot-air_balloon", "teddy_bear"]

    assert script.main(["--root", str(data)]) == 1  # already installed: no download, just the check
    assert "already holds the lists" in capsys.readouterr().out


def test_get_tuberlin_from_tar_and_pinned_hash(tmp_path, capsys):
    staging = tmp_path / "staging"
    make_tuberlin(staging / "dataset" / "TUBerlin")
    archive = archive_tree(staging, tmp_path / "tuberlin.tar.gz")
    script = load_script("get_tuberlin")
    data = tmp_path / "data"
    assert script.main(["--root", str(data), "--archive", str(archive), "--sha256", "ab" * 32]) == 2
    assert "not the pinned" in capsys.readouterr().err and not (data / "TUBerlin").exists()
    digest = sha256_of(archive, progress=False)
    assert script.main(["--root", str(data), "--archive", str(archive), "--sha256", digest]) == 1
    assert "mouse (animal)" not in capsys.readouterr().err
    assert open_benchmark(data, "tuberlin").unseen_classes == ["mouse (animal)", "bottle opener"]


def test_scripts_fail_fast_with_manual_steps(tmp_path, capsys, monkeypatch):
    start = time.perf_counter()
    assert load_script("get_quickdraw").main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "drive.google.com" in err and "--archive" in err and "get_quickdraw.py" in err

    script = load_script("get_tuberlin")
    offline = download.Source(key="sake", title="test mirror", url="http://127.0.0.1:9/dataset.zip",
                              documented_at="nowhere")
    monkeypatch.setattr(script, "SOURCES", [offline, download.SBKA_BUNDLE])
    assert script.main(["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "could not download" in err and "--archive" in err and "sbka" in err
    assert time.perf_counter() - start < 20


def test_scripts_refuse_unsafe_or_wrong_archives(tmp_path, capsys):
    script = load_script("get_quickdraw")
    bad = make_tar(tmp_path / "bad.tar.gz", {"../evil.txt": b"x"})
    assert script.main(["--root", str(tmp_path / "data"), "--archive", str(bad)]) == 3
    assert "refusing" in capsys.readouterr().err
    unrelated = make_zip(tmp_path / "unrelated.zip", GOOD)
    assert script.main(["--root", str(tmp_path / "data"), "--archive", str(unrelated)]) == 3
    assert "holds none of" in capsys.readouterr().err

    staging = tmp_path / "staging"
    make_quickdraw(staging / "QuickDraw")
    good = archive_tree(staging, tmp_path / "qd.zip")
    assert script.main(["--root", str(tmp_path / "data"), "--archive", str(good)]) == 1
    out = capsys.readouterr().out
    assert "held out from train" in out and "zero/sketch" in out


# ----------------------------------------------------------------------------- damaged archives

def _payload() -> dict[str, bytes]:
    # Incompressible bytes, so a cut or a zeroed run lands inside member data, as in a real download.
    return {"data/a.bin": np.random.default_rng(0).bytes(120_000), "data/b.txt": b"beta" * 500}


def _damage(archive: Path, how: str) -> Path:
    raw = archive.read_bytes()
    middle = len(raw) // 2
    damaged = raw[:middle] if how == "truncated" else raw[:middle] + bytes(64) + raw[middle + 64:]
    out = archive.with_name(f"{how}-{archive.name}")
    out.write_bytes(damaged)
    return out


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.bz2", "tar.xz"])
@pytest.mark.parametrize("how", ["truncated", "corrupt"])
def test_a_damaged_archive_is_named_as_damaged(tmp_path, kind, how):
    good = tmp_path / f"good.{kind}"
    make_zip(good, _payload()) if kind == "zip" else make_tar(good, _payload(), mode="w:" + kind.split(".")[1])
    archive = _damage(good, how)
    dest = tmp_path / "out"
    with pytest.raises(DamagedArchiveError) as err:
        safe_extract(archive, dest, progress=False)
    message = str(err.value)
    assert archive.name in message and "is damaged" in message and "neither a zip nor a tar" not in message
    assert err.value.path == archive and f"Delete {archive}" in message
    assert not dest.exists() and not list(tmp_path.glob(".*partial"))  # nothing half-extracted is left
    assert safe_extract(good, tmp_path / "fine", progress=False) and (tmp_path / "fine" / "data" / "b.txt").is_file()


def test_a_web_page_saved_as_an_archive_is_called_one(tmp_path):
    page = tmp_path / "dataset.zip"
    page.write_text("<!DOCTYPE html><html><body>Google Drive can't scan this file for viruses</body></html>")
    with pytest.raises(DatasetError, match="neither a zip nor a tar") as err:
        safe_extract(page, tmp_path / "out", progress=False)
    assert "web page" in str(err.value) and not isinstance(err.value, DamagedArchiveError)


def test_scripts_exit_3_on_a_damaged_archive_with_refetch_steps(tmp_path, capsys, monkeypatch):
    staging = tmp_path / "staging"
    make_tuberlin(staging / "TUBerlin")
    (staging / "TUBerlin" / "bulk.bin").write_bytes(_payload()["data/a.bin"] * 3)  # most bytes: the damage lands here
    good = archive_tree(staging, tmp_path / "dataset.zip")
    script = load_script("get_tuberlin")
    data = tmp_path / "data"
    for how in ("truncated", "corrupt"):
        archive = _damage(good, how)
        assert script.main(["--root", str(data), "--archive", str(archive)]) == 3
        err = capsys.readouterr().err
        assert f"{archive.name} is damaged" in err and "Traceback" not in err
        assert "Download it again" in err and "--archive" in err
        assert not (data / "TUBerlin").exists()

    # downloaded (trust on first use): the recorded hash is the damaged file's, so both must go
    cut = _damage(good, "truncated")
    mirror = download.Source(key="sake", title="test mirror", url=cut.as_uri(), documented_at="nowhere",
                             filename="dataset.zip")
    monkeypatch.setattr(script, "SOURCES", [mirror, download.SBKA_BUNDLE])
    assert script.main(["--root", str(data)]) == 3
    err = capsys.readouterr().err
    cached = data.resolve() / "downloads" / "dataset.zip"
    assert f"rm {cached} {cached}.sha256" in err and "get_tuberlin.py --root" in err
