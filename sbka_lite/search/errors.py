"""What can go wrong in a photo search, as exception and warning types."""
from __future__ import annotations


class SearchError(ValueError):
    """Bad input to a photo search: a missing or empty folder, a query that is not an image."""


class ModelMismatchError(SearchError):
    """A model whose backbone or embedding size does not match the cache or checkpoint it meets."""


class ForeignFileError(SearchError):
    """The cache path holds a file this package did not write (a checkpoint, notes): it is never overwritten."""


class CacheUnusable(Exception):
    """One of our cache files that cannot be used as it is (the message says why); it gets rebuilt."""


class SearchCacheWarning(UserWarning):
    """The embedding cache was rebuilt or could not be written; the message says why."""
