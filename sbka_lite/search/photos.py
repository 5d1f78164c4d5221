"""Which files of a folder are photos, what changed since last time, and decoding one safely.

Nothing here knows about models: a folder in, relative paths and their stamps out.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from PIL import Image

from sbka_lite.data.decode import decode_image

from .errors import SearchError

PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})

# The largest photo decoded. 40 MP is above what common cameras write (full-frame 24-45 MP,
# phones 12-50 MP) yet a decoded RGB copy is at most 120 MB, so a few decoding threads stay well
# under a GiB; the model sees 224 px anyway. `decode_image` reduces a larger JPEG by its draft
# mode where that brings it under the cap; anything still larger is skipped, listed with its size.
MAX_PHOTO_PIXELS = 40_000_000


@dataclass(frozen=True)
class FileStamp:
    """What tells a changed file from an unchanged one without reading it.

    Size and mtime alone miss a file replaced with the same size and mtime (``cp -p``,
    ``rsync -t``) and a permission fix (``chmod``), which change neither. The inode change time
    moves on any write, rename-over, ``chmod`` or ``utime`` and cannot be set back by tools, and
    the inode number changes when a file is replaced by another; any change re-embeds the file.
    """

    size: int
    mtime_ns: int
    ctime_ns: int = 0
    inode: int = 0

    @classmethod
    def of(cls, stat: os.stat_result) -> "FileStamp":
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


@dataclass
class PhotoScan:
    """A folder's photos (relative POSIX path -> stamp) and the photo names that cannot even be opened."""

    photos: dict[str, FileStamp] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # relative path -> reason (a broken or looping link)


def _starts(folder: Path, subfolders: Sequence[str] | None) -> list[Path]:
    if not folder.exists():
        raise SearchError(f"photo folder not found: {folder} (pass the folder that holds your photos)")
    if not folder.is_dir():
        raise SearchError(f"photo folder is not a folder: {folder}")
    if subfolders is None:
        return [folder]
    if isinstance(subfolders, (str, Path)):
        subfolders = [subfolders]
    starts = [folder / name for name in subfolders]
    missing = [str(start) for start in starts if not start.is_dir()]
    if missing or not starts:
        raise SearchError(f"subfolders of {folder} not found: {missing or 'none given'}")
    return starts


def _unstatable_reason(path: Path, error: OSError) -> str | None:
    """Why a listed name cannot be opened, or None when it simply vanished while we walked."""
    if error.errno == errno.ELOOP:
        return f"symbolic link loop ({path.name} -> {os.readlink(path) if path.is_symlink() else '?'})"
    if path.is_symlink():
        return f"broken symbolic link (points to {os.readlink(path)}, which does not exist)"
    return None if isinstance(error, FileNotFoundError) else f"{type(error).__name__}: {error.strerror or error}"


def scan_photos(folder: str | Path, subfolders: Sequence[str] | None = None) -> PhotoScan:
    """Every photo under `folder` (recursive), with the photo-named entries that cannot be opened.

    `subfolders` limits the walk to those folders inside `folder` (e.g. the unseen classes of a
    benchmark's photo folder); paths stay relative to `folder`. Extensions are matched
    case-insensitively against `PHOTO_EXTENSIONS`. Hidden files and folders (names starting
    with a dot: ``.thumbnails``, macOS ``._IMG.jpg`` resource forks) are skipped, and linked
    folders are not followed. A file link that loops or dangles is reported in ``unreadable``.
    Raises `SearchError` naming the folder when it (or a subfolder) is missing, is not a folder,
    or holds no photo.
    """
    folder = Path(folder).expanduser()
    scan = PhotoScan()
    for start in _starts(folder, subfolders):
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.startswith(".") or Path(name).suffix.lower() not in PHOTO_EXTENSIONS:
                    continue
                path = Path(dirpath) / name
                rel = path.relative_to(folder).as_posix()
                try:
                    stat = path.stat()
                except OSError as error:
                    if (reason := _unstatable_reason(path, error)) is not None:
                        scan.unreadable[rel] = reason
                    continue
                scan.photos[rel] = FileStamp.of(stat)
    if not scan.photos:
        where = folder if subfolders is None else f"{folder} (subfolders {', '.join(map(str, subfolders))})"
        broken = f"; {len(scan.unreadable)} unreadable: {sorted(scan.unreadable.items())[:3]}" if scan.unreadable else ""
        raise SearchError(
            f"no photos in {where}: looked recursively for {', '.join(sorted(PHOTO_EXTENSIONS))} "
            f"(any case){broken}; put some photos there or point to another folder")
    scan.photos = dict(sorted(scan.photos.items()))
    return scan


def list_photos(folder: str | Path, subfolders: Sequence[str] | None = None) -> dict[str, FileStamp]:
    """The photos of `scan_photos` alone: relative POSIX path -> `FileStamp`, sorted."""
    return scan_photos(folder, subfolders).photos


def load_photo(path: str | Path, max_pixels: int | None = MAX_PHOTO_PIXELS) -> Image.Image:
    """A photo decoded by `sbka_lite.data.decode` under the size cap (raises `ImageReadError`)."""
    return decode_image(path, max_pixels=max_pixels)
