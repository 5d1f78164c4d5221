"""Data: benchmarks in the SAKE file-list layout, the synthetic benchmark, image loading.

``open_benchmark(root, name)`` reads any of the public benchmarks (or the synthetic one) into a
`Benchmark`; ``make_synthetic_benchmark`` writes the synthetic one in the same layout.

Modules, in the order data flows: ``specs`` (the benchmarks' tables), ``lists`` (one file list,
path safety), ``mask`` (the semantic mask), ``benchmark`` (`Benchmark`, the leakage guard),
``layout`` (`open_benchmark`); ``decode`` (the one image decoder), ``loading`` (transforms and
mixed batches); ``archives`` (safe extraction) and ``download`` (fetching, the data scripts' CLI).
"""
from sbka_lite.data.errors import DatasetError, DatasetWarning, ImageReadError, LeakageError
from sbka_lite.data.layout import (
    BENCHMARKS,
    Benchmark,
    BenchmarkSpec,
    compare_with_official,
    dataset_dir,
    open_benchmark,
    verify_images,
)

_SYNTHETIC = ("make_synthetic_benchmark", "draw_sketch", "draw_photo")

__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkSpec", "DatasetError", "DatasetWarning", "ImageReadError", "LeakageError",
           "compare_with_official", "dataset_dir", "open_benchmark", "verify_images", *_SYNTHETIC]


def __getattr__(name: str):
    # The synthetic generator is imported on first use: reading real benchmarks never needs it.
    if name in _SYNTHETIC:
        from sbka_lite.data import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
