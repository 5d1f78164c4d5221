"""The semantic mask (``cid_mask.pickle``): a row of ImageNet-1k class weights per seen class.

It is a downloaded pickle, so it is read with an unpickler that accepts numpy arrays and plain
containers only: an unrestricted pickle can run arbitrary code.
"""
from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np

from sbka_lite.data.errors import DatasetError

MASK_FILE = "cid_mask.pickle"
MASK_WIDTH = 1000  # one column per ImageNet-1k class

class _MaskUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays and nothing else: a downloaded pickle is
    untrusted, and an unrestricted one can run arbitrary code."""

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # protocol-2 pickles rebuild raw bytes with it; harmless
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a semantic-mask pickle")
        with warnings.catch_warnings():  # numpy 2 warns on the numpy.core alias old pickles use
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def load_mask_pickle(path: str | os.PathLike) -> dict[int, np.ndarray]:
    """Read ``cid_mask.pickle``: label -> float32[1000] (a dict, a list, or a 2-D array by label)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = _MaskUnpickler(handle, encoding="latin1").load()  # latin1: Python-2 numpy pickles
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DatasetError(f"{path}: cannot read the semantic mask ({err}). Expected a pickled dict "
                           f"from seen-class label to {MASK_WIDTH} floats; delete the file to train "
                           "with a zero mask.") from err
    if isinstance(raw, dict):
        entries = list(raw.items())
    elif isinstance(raw, (list, tuple, np.ndarray)):
        entries = list(enumerate(raw))
    else:
        raise DatasetError(f"{path}: the semantic mask is a {type(raw).__name__}; expected a dict "
                           f"from seen-class label to {MASK_WIDTH} floats")
    rows: dict[int, np.ndarray] = {}
    for key, value in entries:
        try:
            label = int(key)
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: mask key {key!r} is not an integer label") from None
        try:
            row = np.squeeze(np.asarray(value, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise DatasetError(f"{path}: the mask row for label {label} is not numeric ({err})") from None
        if row.shape != (MASK_WIDTH,):
            raise DatasetError(f"{path}: the mask row for label {label} has shape {np.shape(value)}; "
                               f"expected {MASK_WIDTH} values (one per ImageNet-1k class)")
        if not np.all(np.isfinite(row)):
            raise DatasetError(f"{path}: the mask row for label {label} holds NaN or infinite values")
        rows[label] = row
    return rows
