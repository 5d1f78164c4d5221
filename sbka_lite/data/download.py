"""Fetch and verify the public benchmarks; the command line behind ``data_scripts/``.

- `fetch` downloads with pooch into a cache folder. A complete file whose SHA-256 matches is
  never downloaded again, and a failed download leaves no half file behind (pooch writes to a
  temporary name first). Where nobody publishes a hash, the first download's hash is recorded
  beside the file and later runs verify against it (trust on first use, announced loudly).
- Safe extraction lives in ``archives.py`` (`safe_extract`, re-exported here).
- `run_script` is the shared command line of the per-benchmark scripts: obtain the archive
  (download or ``--archive``), extract, move the dataset under the data root, then open it
  with `open_benchmark` and compare its sizes with the official ones.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pooch

from sbka_lite.data.archives import MARKER, DamagedArchiveError, UnsafeArchiveError, is_extracted, safe_extract
from sbka_lite.data.errors import DatasetError
from sbka_lite.data.layout import compare_with_official, open_benchmark
from sbka_lite.data.specs import MODALITIES, SPLITS, BenchmarkSpec, get_spec
from sbka_lite.paths import default_data_root, file_sha256

__all__ = ["MARKER", "SAKE_DATASET", "SBKA_BUNDLE", "DamagedArchiveError", "DownloadError", "Source",
           "UnsafeArchiveError", "fetch", "find_dataset_dirs", "has_lists", "is_extracted", "manual_steps",
           "refetch_steps", "run_script", "safe_extract", "sha256_of"]

_BROWSER_ONLY = ("drive.google.com", "docs.google.com", "pan.baidu.com")


class DownloadError(RuntimeError):
    """A download could not be made or did not verify; the message says what to do."""


@dataclass(frozen=True)
class Source:
    """One place a benchmark can be downloaded from, as the public code bases document it.

    ``sha256`` is None where no hash is published: `fetch` then trusts the first download
    and records its hash. ``needs_browser`` marks links (Google Drive) a script cannot fetch.
    """

    key: str
    title: str
    url: str
    documented_at: str
    filename: str | None = None
    sha256: str | None = None
    needs_browser: bool = False
    holds: tuple[str, ...] = ()


# The SAKE authors' resized Sketchy Ext and TU-Berlin Ext with their zero-shot lists (the
# layout every later code base reuses). Sketchy split 2 (zeroshot2) is not part of it.
SAKE_DATASET = Source(
    key="sake", title="SAKE authors' dataset.zip (Sketchy Ext split 1 + TU-Berlin Ext, with lists)",
    url="https://cs.jhu.edu/~qliu24/ZSSBIR/dataset.zip",
    documented_at="https://github.com/qliu24/SAKE (README, 'Dataset')",
    filename="SAKE_ZSSBIR_dataset.zip", holds=("sketchy", "tuberlin"))

# The SBKA authors' bundle of all three benchmarks in the SAKE layout (Google Drive).
SBKA_BUNDLE = Source(
    key="sbka", title="SBKA authors' bundle (Sketchy Ext splits 1-2, TU-Berlin Ext, QuickDraw Ext)",
    url="https://drive.google.com/file/d/1IUeNJDlQah6zC5jQPHc2x-HRyNLqTRFK/view?usp=sharing",
    documented_at="the README of the SBKA authors' code (arXiv 2312.10320), section 'Datasets'",
    needs_browser=True, holds=("sketchy", "sketchy_split2", "tuberlin", "quickdraw"))


# ----------------------------------------------------------------------------- hashing, fetching

def sha256_of(path: str | os.PathLike, *, progress: bool = True) -> str:
    """Hex SHA-256 of a file, streamed (with a progress bar for large files)."""
    return file_sha256(path, progress=progress)


def _loud(message: str) -> None:
    line = "=" * 78
    print(f"\n{line}\n{message}\n{line}\n", file=sys.stderr)


def _copy_local(url: str, output_file, pooch_obj=None, check_only: bool = False):
    """pooch downloader for ``file://`` URLs (local mirrors, tests)."""
    source = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    if check_only:
        return source.is_file()
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    if isinstance(output_file, (str, os.PathLike)):
        shutil.copyfile(source, output_file)
    else:
        with open(source, "rb") as handle:
            shutil.copyfileobj(handle, output_file)
    return None


def fetch(url: str, sha256: str | None, dest_dir: str | os.PathLike, *, progress: bool = True,
          filename: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` into ``dest_dir`` (cached) and verify it; returns the file's path.

    A file already there whose hash matches (``sha256``, else the one recorded at its first
    download in ``<file>.sha256``) is not downloaded again. With no hash known at all, the file
    is downloaded, its hash recorded beside it and announced: trust on first use.

    Raises:
        DownloadError: the URL needs a browser, the download failed (network, timeout), or the
            file does not match the expected hash.
    """
    host = urllib.parse.urlparse(url).netloc
    if any(host.endswith(domain) for domain in _BROWSER_ONLY):
        raise DownloadError(f"{url} needs a browser (the host asks for a confirmation page); "
                            "download it by hand and pass the file with --archive")
    dest_dir = Path(dest_dir).expanduser()
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = filename or Path(urllib.parse.urlparse(url).path).name or "download"
    sidecar = dest_dir / f"{name}.sha256"
    recorded_text = sidecar.read_text().split() if sidecar.is_file() else []
    recorded = recorded_text[0].lower() if recorded_text else None
    if sha256 and recorded and sha256.lower() != recorded:
        warnings.warn(f"the pinned SHA-256 for {name} differs from the one recorded in {sidecar}; "
                      "using the pinned one", stacklevel=2)
    expected = (sha256 or recorded or "").lower() or None
    if url.startswith("file://"):
        downloader = _copy_local
    else:
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{expected}" if expected else None, fname=name,
                              path=dest_dir, downloader=downloader)
    except ValueError as err:  # pooch: hash mismatch after (re-)downloading
        raise DownloadError(f"{url} does not match the expected SHA-256 {expected}: {err}\n"
                            f"The file changed upstream or the download is corrupt. If you trust the new "
                            f"file, delete {sidecar} (or pass the new --sha256) and re-run.") from err
    except Exception as err:  # network errors come in many classes (requests, socket, OSError)
        raise DownloadError(f"could not download {url}: {type(err).__name__}: {err}") from err
    if not expected:
        digest = sha256_of(path, progress=progress)
        sidecar.write_text(digest + "\n")
        _loud(f"TRUST ON FIRST USE: no SHA-256 is published for\n  {url}\nThe file just downloaded hashes to\n"
              f"  {digest}\nIt is recorded in {sidecar}; later runs verify against it. Once you trust "
              f"it, pin it with --sha256 {digest}")
    return Path(path)


# ----------------------------------------------------------------------------- the scripts' CLI

def has_lists(folder: Path, spec: BenchmarkSpec) -> bool:
    """Whether ``folder/<zero folder>`` holds at least one of the spec's lists."""
    zero = folder / spec.zero_folder
    return any((zero / spec.list_file(split, modality)).is_file() for split in SPLITS for modality in MODALITIES)


def find_dataset_dirs(tree: str | os.PathLike, spec: BenchmarkSpec, max_depth: int = 4) -> list[Path]:
    """Folders up to ``max_depth`` below ``tree`` that hold the spec's zero folder with lists."""
    tree = Path(tree)
    found = []
    for folder, dirnames, _ in os.walk(tree):
        here = Path(folder)
        if has_lists(here, spec):
            found.append(here)
        depth = len(here.relative_to(tree).parts)
        dirnames[:] = [] if depth >= max_depth else sorted(d for d in dirnames if not d.startswith("."))
    return found


def manual_steps(source: Source, script: str, root: Path, others: Sequence[Source] = ()) -> str:
    """What to do by hand when a download cannot happen automatically."""
    lines = ["How to get it by hand:",
             f"  1. Open this link in a browser and download the archive ({source.title}):",
             f"       {source.url}",
             f"     (documented in {source.documented_at})",
             f"  2. Save it anywhere, for example in {root / 'downloads'}",
             "  3. Re-run with the archive; nothing is downloaded then:",
             f"       python {script} --root {root} --archive <path to the archive> [--sha256 <hash you trust>]"]
    others = [other for other in others if other.key != source.key]
    if others:
        lines.append("  Other sources this script knows (--source):")
        lines += [f"    {other.key}: {other.title}\n        {other.url}" for other in others]
    return "\n".join(lines)


def refetch_steps(archive: Path, supplied: bool, source: Source, script: str, root: Path,
                  sources: Sequence[Source]) -> str:
    """How to replace a damaged archive: by hand for one passed with --archive, else by
    deleting the cached download and its recorded hash (which is the damaged file's)."""
    if supplied or source.needs_browser:
        return (f"Download it again (the copy at {archive} is damaged), then re-run with --archive.\n"
                + manual_steps(source, script, root, sources))
    sidecar = archive.with_name(archive.name + ".sha256")
    return (f"To fetch it again, delete the cached download and the hash recorded from it, then re-run:\n"
            f"  rm {archive} {sidecar}\n  python {script} --root {root}\n"
            f"or get it by hand:\n" + manual_steps(source, script, root, sources))


def _obtain_archive(args: argparse.Namespace, source: Source, root: Path) -> Path:
    if args.archive is not None:
        archive = Path(args.archive).expanduser()
        if not archive.is_file():
            raise DownloadError(f"--archive {archive} does not exist")
        digest = sha256_of(archive)
        if args.sha256 and digest != args.sha256.lower():
            raise DownloadError(f"{archive} has SHA-256 {digest}, not the pinned {args.sha256}")
        print(f"SHA-256 of {archive.name}: {digest}" + ("" if args.sha256 else " (pass --sha256 to pin it)"))
        return archive
    if source.needs_browser:
        raise DownloadError(f"the {source.key!r} source is a Google Drive link; it needs a browser")
    return fetch(source.url, args.sha256 or source.sha256, root / "downloads", filename=source.filename)


def _install(extracted: Path, target: Path, specs: Sequence[BenchmarkSpec]) -> list[str]:
    """Move the dataset found in ``extracted`` to ``target`` (or add the zero folders it lacks)."""
    problems = []
    for spec in specs:
        if has_lists(target, spec):
            continue
        candidates = find_dataset_dirs(extracted, spec)
        if not candidates:
            problems.append(f"{spec.name}: the archive holds no {spec.zero_folder}/"
                            f"{spec.list_file('zero', 'sketch')} (nor the other lists)")
            continue
        if len(candidates) > 1:
            print(f"{spec.name}: several copies in the archive, using {candidates[0]}")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(candidates[0]), str(target))
            print(f"{spec.name}: installed {target}")
        else:
            shutil.copytree(candidates[0] / spec.zero_folder, target / spec.zero_folder)
            print(f"{spec.name}: added {target / spec.zero_folder}")
    return problems


def _check(target: Path, benchmarks: Sequence[str]) -> int:
    status = 0
    for name in benchmarks:
        spec = get_spec(name)
        print(f"\n--- {name}: {spec.title}")
        if not has_lists(target, spec):
            print(f"no lists in {target / spec.zero_folder}; this source does not provide {name}")
            status = 1
            continue
        try:
            benchmark = open_benchmark(target, spec)
        except DatasetError as err:
            print(f"cannot open it: {err}")
            status = 1
            continue
        print(benchmark)
        table = compare_with_official(benchmark)
        print(table.to_string(index=False))
        if table["ok"].all():
            print("all sizes match the official release")
        else:
            print("MISMATCH: the sizes above differ from the official release (see data_scripts/README.md); "
                  "results on this copy are not comparable with published ones")
            status = 1
    return status


def run_script(argv: Sequence[str] | None, *, benchmarks: Sequence[str], sources: Sequence[Source],
               script: str, description: str) -> int:
    """Command line shared by ``data_scripts/get_*.py``. Exit status: 0 installed and matching
    the official sizes; 1 installed but incomplete or different; 2 nothing to install (download
    impossible: manual steps printed); 3 the archive is unsafe or unusable."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None,
                        help="data root (default: $SBKA_DATA_ROOT, else <repo>/data)")
    parser.add_argument("--archive", type=Path, default=None,
                        help="an archive you downloaded yourself; skips the download")
    parser.add_argument("--sha256", default=None, help="expected SHA-256 of the archive (pins it)")
    parser.add_argument("--source", choices=[source.key for source in sources], default=sources[0].key,
                        help="where to download from (default: %(default)s)")
    args = parser.parse_args(argv)
    root = (args.root or default_data_root()).expanduser().resolve()
    specs = [get_spec(name) for name in benchmarks]
    target = root / specs[0].folder
    source = next(source for source in sources if source.key == args.source)

    if all(has_lists(target, spec) for spec in specs):
        print(f"{target} already holds the lists; checking it.")
        return _check(target, benchmarks)
    try:
        archive = _obtain_archive(args, source, root)
    except DownloadError as err:
        print(f"ERROR: {err}\n\n{manual_steps(source, script, root, sources)}", file=sys.stderr)
        return 2
    try:
        extracted = safe_extract(archive, root / "_extracted" / archive.name.split(".")[0])
    except DamagedArchiveError as err:
        print(f"ERROR: {err}\n\n{refetch_steps(archive, args.archive is not None, source, script, root, sources)}",
              file=sys.stderr)
        return 3
    except (DatasetError, OSError) as err:
        print(f"ERROR: cannot extract {archive}: {err}", file=sys.stderr)
        return 3
    problems = _install(extracted, target, specs)
    for problem in problems:
        print(f"NOTE: {problem}.")
    others = [other for other in sources if other.key != source.key]
    if problems and others:
        print("Another source may have it:\n" + manual_steps(others[0], script, root, others))
    if not target.exists():
        print(f"ERROR: {archive.name} holds none of {list(benchmarks)}; is it the right archive?", file=sys.stderr)
        return 3
    return _check(target, benchmarks)
