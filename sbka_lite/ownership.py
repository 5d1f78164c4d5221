"""Never destroy what a tool did not write: output folders that remember what their tool put in them.

A tool that writes into a folder (the website, the student edition, a sweep's results) first *claims* it.
The claim reads the folder's manifest (``.sbka-lite.json``: the tool's name and, per file it wrote, the
relative path and the sha256 of the bytes it wrote) and refuses, with `NotOurs`, when the tool would
overwrite or delete a file it did not write (no manifest, a file the manifest does not list, another tool's
manifest) or one that changed since it wrote it (a user's edit). A missing or empty folder is always fine,
and so is the tool's own unchanged output, so rebuilding needs no ``--force``; ``force=True`` overrides.

    owned = claim(out, "student", planned={"01_data.ipynb": data})   # raises NotOurs, naming the files
    owned.write_all({"01_data.ipynb": data})   # all staged first, then renamed into place; recorded
    owned.remove(["old.ipynb"])                # only if listed and unchanged (or forced)

Without `planned` the tool owns the whole folder (it may empty it, like ``mkdocs build --clean``): every
file in it must be its own. With `planned` it touches only those paths, and a path that already holds
exactly the planned bytes is no conflict (overwriting it loses nothing).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sbka_lite.paths import current_umask, file_sha256

MANIFEST = ".sbka-lite.json"
_TEMP_PREFIX = ".sbka-lite-"  # staging files; a killed run's leftovers are ours to remove


class NotOurs(FileExistsError):
    """The tool would overwrite or delete files it did not write, or that changed since it wrote them."""


def _files(folder: Path) -> list[str]:
    """Relative paths of every file and link under `folder` (links are never followed)."""
    found = []
    for parent, folders, names in os.walk(folder):
        base = Path(parent)
        found += [(base / name).relative_to(folder).as_posix() for name in names]
        found += [(base / name).relative_to(folder).as_posix() for name in folders if (base / name).is_symlink()]
    return sorted(p for p in found if p != MANIFEST and not Path(p).name.startswith(_TEMP_PREFIX))


def _write_bytes(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


@dataclass
class Ownership:
    """What `tool` wrote into `folder`: relative path -> sha256. Returned by `claim`."""

    folder: Path
    tool: str
    files: dict[str, str] = field(default_factory=dict)
    force: bool = False
    foreign: dict[str, str] = field(default_factory=dict)  # at claim time: path -> sha256 ("" for a link)

    def is_ours(self, relative: str) -> bool:
        """Listed in the manifest and unchanged since the tool wrote it."""
        path = self.folder / relative
        return (relative in self.files and path.is_file() and not path.is_symlink()
                and file_sha256(path) == self.files[relative])

    def present(self) -> list[str]:
        """Every file now in the folder (relative paths), the manifest aside."""
        return _files(self.folder) if self.folder.is_dir() else []

    def write_all(self, contents: Mapping[str, bytes]) -> list[Path]:
        """Write every file (relative path -> bytes), all or nothing: each is staged beside its target and
        only when all are staged are they renamed into place, so an error (disk full, a read-only file)
        leaves every old file as it was. Raises the OSError with the file named."""
        staged: list[tuple[str, Path]] = []
        try:
            for relative, data in contents.items():
                target = self.folder / relative
                if target.is_file() and not target.stat().st_mode & 0o222 and not self.force:
                    # a rename would replace it regardless: respect the user's chmod (root's too)
                    raise PermissionError(errno.EACCES, "the file is read-only", str(target))
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    descriptor, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=target.parent)
                    staged.append((relative, Path(temporary)))
                    try:
                        _write_bytes(descriptor, data)
                        os.fsync(descriptor)
                    finally:
                        os.close(descriptor)
                except OSError as error:
                    error.filename = str(target)  # the file the user knows, not our staging name
                    raise
        except BaseException:
            for _, temporary in staged:
                temporary.unlink(missing_ok=True)
            raise
        for relative, temporary in staged:
            os.chmod(temporary, 0o666 & ~current_umask())
            os.replace(temporary, self.folder / relative)
            self.files[relative] = hashlib.sha256(contents[relative]).hexdigest()
            self.foreign.pop(relative, None)
        self.save()
        return [self.folder / relative for relative in contents]

    def remove(self, relatives: Iterable[str]) -> list[str]:
        """Delete those of `relatives` the tool wrote and nobody changed (any of them, if forced); a file
        someone edited stays, and is no longer the tool's. Returns the paths removed."""
        removed = []
        for relative in relatives:
            path = self.folder / relative
            if self.force or self.is_ours(relative):
                if path.is_symlink() or path.is_file():
                    path.unlink()
                    removed.append(relative)
            self.files.pop(relative, None)
        self.save()
        return removed

    def record_all(self) -> None:
        """Adopt every file in the folder but the foreign ones left as they were: for output another
        program wrote on the tool's behalf (``mkdocs build``)."""
        self.files = {}
        for relative in self.present():
            path = self.folder / relative
            digest = "" if path.is_symlink() else file_sha256(path)
            if self.foreign.get(relative) != digest and not path.is_symlink():
                self.files[relative] = digest
        self.save()

    def save(self) -> None:
        """Write the manifest (itself staged and renamed, so it is never half-written)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"tool": self.tool, "files": self.files}, indent=1, sort_keys=True).encode()
        descriptor, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=self.folder)
        try:
            _write_bytes(descriptor, data)
            os.fsync(descriptor)
            os.close(descriptor)
            os.chmod(temporary, 0o666 & ~current_umask())
            os.replace(temporary, self.folder / MANIFEST)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def claim(folder: str | os.PathLike, tool: str, force: bool = False,
          planned: Mapping[str, bytes] | None = None) -> Ownership:
    """Check that `tool` may write into `folder` and return its record of what it wrote there.

    `planned=None`: the tool owns the whole folder (it may delete anything in it), so every file must be one
    it wrote and nobody changed. `planned={relative path: bytes}`: only those paths are checked, and one
    that already holds exactly those bytes is fine. Raises `NotOurs` naming the foreign and the edited files
    and the way out, unless `force`.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotOurs(f"{folder} is a file, not a folder: choose another folder")
    manifest = folder / MANIFEST
    try:
        record = json.loads(manifest.read_text()) if manifest.is_file() else {}
    except (OSError, ValueError):
        record = {}  # unreadable: nothing counts as ours
    files = dict(record.get("files", {})) if record.get("tool") == tool else {}
    owned = Ownership(folder, tool, files, force)
    on_disk = owned.present()
    candidates = on_disk if planned is None else [p for p in planned if p in set(on_disk)]
    foreign, edited = [], []
    for relative in candidates:
        path = folder / relative
        digest = "" if path.is_symlink() or not path.is_file() else file_sha256(path)
        if planned is not None and digest and digest == hashlib.sha256(planned[relative]).hexdigest():
            files[relative] = digest  # already holds what the tool would write: nothing to lose
        elif relative not in files:
            foreign.append(relative)
            owned.foreign[relative] = digest
        elif digest != files[relative]:
            edited.append(relative)
            owned.foreign[relative] = digest
    if (foreign or edited) and not force:
        raise NotOurs(_refusal(folder, tool, foreign, edited, record.get("tool")))
    for leftover in folder.rglob(_TEMP_PREFIX + "*.tmp") if folder.is_dir() else []:
        leftover.unlink(missing_ok=True)  # staging files of a run that was killed
    return owned


def _refusal(folder: Path, tool: str, foreign: list[str], edited: list[str], other: str | None) -> str:
    def listed(paths: list[str]) -> str:
        return ", ".join(paths[:5]) + (f" (and {len(paths) - 5} more)" if len(paths) > 5 else "")
    parts = []
    if foreign:
        by = f"written by {other!r}, not by" if other and other != tool else "not written by"
        parts.append(f"{listed(foreign)} ({by} {tool!r})")
    if edited:
        parts.append(f"{listed(edited)} (changed since {tool!r} wrote them)")
    return (f"refusing to overwrite or delete files in {folder}: {'; '.join(parts)}. Keep them by choosing another "
            "output folder (or copy them elsewhere first), or pass --force (force=True) to overwrite them.")
