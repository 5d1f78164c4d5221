"""The two errors the data layer raises, kept apart so every module can import them cheaply."""
from __future__ import annotations

import os


class DatasetError(ValueError):
    """A dataset on disk is missing, malformed, or would leak unseen classes into training.

    The message always names the file (and line, where there is one) and says what to do.
    """


class ImageReadError(OSError):
    """An image listed by a benchmark could not be read or decoded.

    ``path`` is the offending file, ``reason`` what went wrong (the original error's text).
    """

    def __init__(self, path: str | os.PathLike, reason: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}" + (f": {reason}" if reason else ""))

    def __reduce__(self):
        # Survives pickling across DataLoader worker processes with path and reason intact.
        return (type(self), (self.path, self.reason))


class DatasetWarning(UserWarning):
    """A dataset on disk was read, but not exactly as written (duplicate lines dropped, missing
    files skipped, a mask row absent); the message names the list and what was done."""


class LeakageError(DatasetError):
    """Unseen classes or images also sit in a seen split; ``report`` holds them (a `LeakageReport`)."""

    def __init__(self, message: str, report) -> None:
        super().__init__(message)
        self.report = report
