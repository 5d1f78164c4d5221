"""Command-line shim: ``python -m sbka_lite.sweep`` is a documented entry point, kept here.

The code lives in `sbka_lite.experiments.sweep` (and where cells run, in
`sbka_lite.experiments.executors`); every public name is re-exported for existing imports.
"""
import sys

from sbka_lite.experiments.sweep import (  # noqa: F401
    SweepConfig,
    collect,
    main,
    parse_grid,
    run_cell,
    run_name,
    run_sweep,
    validate,
    write_summary,
)

if __name__ == "__main__":
    sys.exit(main())
