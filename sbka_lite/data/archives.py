"""Safe, atomic extraction of zip and tar(.gz/.bz2/.xz) archives.

* Every member is checked before anything is written: absolute paths, ``..`` components,
  special files and links that lead outside the destination refuse the whole archive
  (`UnsafeArchiveError`, naming the member).
* A truncated or corrupt archive is a `DamagedArchiveError` naming the file, whatever the
  decompressor raised (``EOFError``, ``zipfile.BadZipFile``, ``tarfile.ReadError``, ...). A
  compressed tar is read to its end, so its checksum (gzip CRC-32, bz2/xz checks) is verified
  even where the tar itself ends early. An uncompressed tar carries no checksum of its data.
* Extraction goes to a hidden ``.partial`` folder renamed into place only when everything
  worked, with a marker file inside, so an interrupted extraction is never mistaken for a
  finished one.
"""
from __future__ import annotations

import gzip
import json
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from sbka_lite.data.errors import DatasetError

MARKER = ".sbka_extracted.json"
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
# What the decompressors raise on a truncated or corrupt stream (gzip's BadGzipFile and bz2's
# "Invalid data stream" are OSErrors, recognised by their message in `_is_damage`).
_DAMAGE = (zipfile.BadZipFile, tarfile.ReadError, tarfile.CompressionError, EOFError, zlib.error, lzma.LZMAError)
_COMPRESSED_TAR = {b"\x1f\x8b": "r:gz", b"BZh": "r:bz2", b"\xfd7zXZ\x00": "r:xz"}


class UnsafeArchiveError(DatasetError):
    """An archive member would land outside the destination (or is a device file)."""


class DamagedArchiveError(DatasetError):
    """An archive is truncated or corrupt; ``path`` is the file. Fetch it again."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name} is damaged ({reason}); it is probably an incomplete or corrupt "
                         f"download. Delete {self.path} and fetch it again (see data_scripts/README.md).")


@dataclass
class _Member:
    name: str  # normalised, '/'-separated, relative
    kind: str  # file, dir, symlink, hardlink
    target: str
    handle: object


def _name_problem(name: str) -> str | None:
    if not name or "\x00" in name:
        return "has an empty or invalid name"
    if name.startswith(("/", "\\")) or _DRIVE_LETTER.match(name):
        return "is an absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "contains a '..' component"
    return None


def _escapes(relative_to: str, target: str) -> bool:
    resolved = posixpath.normpath(posixpath.join(relative_to, target))
    return resolved == ".." or resolved.startswith("../") or resolved.startswith("/")


def _zip_members(archive: zipfile.ZipFile) -> list[_Member]:
    members = []
    for info in archive.infolist():
        if stat.S_ISLNK(info.external_attr >> 16):
            members.append(_Member(info.filename, "symlink", archive.read(info).decode("utf-8", "replace"), info))
        else:
            members.append(_Member(info.filename, "dir" if info.is_dir() else "file", "", info))
    return members


def _tar_members(archive: tarfile.TarFile) -> list[_Member]:
    members = []
    for info in archive.getmembers():
        if info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        elif info.isdir():
            kind = "dir"
        elif info.isfile():
            kind = "file"
        else:
            kind = "special"
        members.append(_Member(info.name, kind, info.linkname, info))
    return members


def _validate(members: list[_Member], archive: Path) -> list[_Member]:
    """Refuse the whole archive if any member could write outside the destination."""
    def refuse(member: _Member, why: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(f"{archive.name}: member {member.name!r} {why}; refusing to extract "
                                  "anything from this archive (it may be malicious or corrupt)")

    for member in members:
        problem = _name_problem(member.name)
        if problem:
            raise refuse(member, problem)
        member.name = posixpath.normpath(member.name.replace("\\", "/")).lstrip("/")
        if member.kind == "special":
            raise refuse(member, "is a device file, FIFO or other special file")
        if member.kind in ("symlink", "hardlink"):
            target = member.target.replace("\\", "/")
            if not target or target.startswith("/") or _DRIVE_LETTER.match(target):
                raise refuse(member, f"is a link to the absolute path {member.target!r}")
            base = posixpath.dirname(member.name) if member.kind == "symlink" else ""
            if _escapes(base, target):
                raise refuse(member, f"is a link to {member.target!r}, outside the destination")
    links = {member.name for member in members if member.kind == "symlink"}
    for member in members:
        parts = member.name.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in links:
                raise refuse(member, f"lies under the symlink {'/'.join(parts[:depth])!r}")
    return [member for member in members if member.name != "."]


def _check_links_inside(root: Path, archive: Path) -> None:
    """After extraction: every symlink must resolve inside ``root`` (catches chains of links
    that each look harmless on their own)."""
    real_root = os.path.realpath(root)
    for folder, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            path = os.path.join(folder, entry)
            if os.path.islink(path):
                real = os.path.realpath(path)
                if real != real_root and not real.startswith(real_root + os.sep):
                    raise UnsafeArchiveError(f"{archive.name}: member {os.path.relpath(path, root)!r} is a symlink "
                                             f"resolving to {real}, outside the destination; refusing the archive")



def _archive_kind(path: Path) -> str | None:
    """``zip``, or the tarfile mode (``r:gz``, ``r:bz2``, ``r:xz``, ``r:``) from the file's first
    bytes; zipfile's and tarfile's own tests catch the rest (self-extracting zips, old tars)."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or zipfile.is_zipfile(path):
        return "zip"
    for magic, mode in _COMPRESSED_TAR.items():
        if head.startswith(magic):
            return mode  # opened with its own decompressor, so a damaged one says what broke
    if head[257:262] == b"ustar":
        return "r:"
    return "r:*" if tarfile.is_tarfile(path) else None


def _not_an_archive(path: Path) -> DatasetError:
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip().lower()
    web_page = (" It is a web page (HTML), not an archive: the link served a confirmation or error page; "
                "download it in a browser." if head.startswith((b"<!doctype html", b"<html")) else "")
    return DatasetError(f"{path} is neither a zip nor a tar archive (tar, tar.gz, tar.bz2, tar.xz).{web_page} "
                        "Unpack other formats (7z, rar) by hand and point the script's --root at the result.")


def _damage_reason(kind: str, error: BaseException) -> str:
    if kind == "zip" and isinstance(error, zipfile.BadZipFile) and "not a zip file" in str(error):
        return "it starts like a zip, but the zip's directory at its end is missing: the file is truncated"
    if isinstance(error, EOFError) or "unexpected end" in str(error):
        return f"the file ends early, it is truncated ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"


def _is_damage(error: BaseException) -> bool:
    # gzip's BadGzipFile and bz2's "Invalid data stream" are OSErrors; a full disk is not damage.
    return isinstance(error, _DAMAGE + (gzip.BadGzipFile,)) or (
        type(error) is OSError and "Invalid data stream" in str(error))


def _extract_zip(archive_path: Path, partial: Path, progress: bool) -> tuple[int, bool]:
    with zipfile.ZipFile(archive_path) as archive:
        members = _validate(_zip_members(archive), archive_path)
        for member in tqdm(members, desc=f"extracting {archive_path.name}", disable=not progress):
            out = partial / member.name
            if member.kind == "dir":
                out.mkdir(parents=True, exist_ok=True)
            elif member.kind == "file":
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member.handle) as source, open(out, "wb") as sink:
                    shutil.copyfileobj(source, sink, 2**20)  # zipfile checks each member's CRC-32
        for member in members:  # links last, so no file is ever written through one
            if member.kind == "symlink":
                (partial / member.name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(member.target, partial / member.name)
        return len(members), any(member.kind == "symlink" for member in members)


def _extract_tar(archive_path: Path, partial: Path, progress: bool, mode: str) -> tuple[int, bool]:
    with tarfile.open(archive_path, mode) as archive:
        members = _validate(_tar_members(archive), archive_path)
        ordered = ([m for m in members if m.kind in ("dir", "file")] +
                   [m for m in members if m.kind in ("symlink", "hardlink")])
        for member in tqdm(ordered, desc=f"extracting {archive_path.name}", disable=not progress):
            member.handle.name = member.name
            try:  # the 'data' filter re-checks every member: a second, independent guard
                archive.extract(member.handle, partial, filter="data")
            except tarfile.FilterError as err:
                raise UnsafeArchiveError(f"{archive_path.name}: member {member.name!r} refused: {err}") from err
        while archive.fileobj.read(2**20):  # read to the end: the decompressor checks its checksum there
            pass
        return len(ordered), any(member.kind in ("symlink", "hardlink") for member in members)


def _extract_members(archive_path: Path, partial: Path, progress: bool) -> tuple[int, bool]:
    """Extract into ``partial``; returns (member count, whether any link was made)."""
    kind = _archive_kind(archive_path)
    if kind is None:
        raise _not_an_archive(archive_path)
    try:
        if kind == "zip":
            return _extract_zip(archive_path, partial, progress)
        return _extract_tar(archive_path, partial, progress, kind)
    except (OSError, *_DAMAGE) as err:
        if _is_damage(err):
            raise DamagedArchiveError(archive_path, _damage_reason(kind, err)) from err
        raise


def is_extracted(dest: str | os.PathLike) -> bool:
    """True when ``dest`` holds a finished `safe_extract` (its marker file exists)."""
    return (Path(dest) / MARKER).is_file()


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, progress: bool = True) -> Path:
    """Extract a zip or tar archive into ``dest`` safely and atomically; returns ``dest``.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    device files and links that point outside ``dest`` make the whole archive fail with
    `UnsafeArchiveError` naming the member; a truncated or corrupt archive fails with
    `DamagedArchiveError`. Extraction goes to a hidden sibling folder that is renamed to
    ``dest`` only at the end, with a marker file inside; a ``dest`` that already has the marker
    is returned as is (nothing is extracted twice).
    """
    archive = Path(archive).expanduser()
    dest = Path(dest).expanduser()
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist")
    if is_extracted(dest):
        return dest
    if dest.exists():
        raise DatasetError(f"{dest} exists but has no completion marker {MARKER}: an earlier extraction was "
                           "interrupted, or the folder holds something else. Delete it and re-run.")
    partial = dest.with_name(f".{dest.name}.partial")
    if partial.exists():  # our own leftover from an interrupted run
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        count, has_links = _extract_members(archive, partial, progress)
        if has_links:
            _check_links_inside(partial, archive)
        (partial / MARKER).write_text(json.dumps({
            "archive": archive.name, "bytes": archive.stat().st_size, "members": count,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=1))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, dest)
    return dest
