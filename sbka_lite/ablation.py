"""Command-line shim: ``python -m sbka_lite.ablation`` (``make ablation``) is a documented entry point, kept here.

The code lives in `sbka_lite.experiments.ablation` (and where cells run, in
`sbka_lite.experiments.executors`); every public name is re-exported for existing imports.
"""
import sys

from sbka_lite.experiments.ablation import (  # noqa: F401
    ARMS,
    KNOWN_ARMS,
    METRICS,
    TRAINED,
    label_free_cluster_matcher,
    load_results,
    main,
    markdown_table,
    missing,
    run_ablation,
    run_ablation_cell,
    summarise,
    summary_record,
)

if __name__ == "__main__":
    sys.exit(main())
