#!/usr/bin/env python
"""Get QuickDraw Ext in the SAKE file-list layout and check it.

QuickDraw Ext (Doodle2Search, CVPR 2019) in the SAKE layout is distributed in the SBKA
authors' Google Drive bundle, which needs a browser: without --archive this script prints the
manual steps and stops. With --archive it unpacks safely into <root>/_extracted/, moves the
dataset to <root>/QuickDraw, opens it with sbka_lite.data.open_benchmark and compares its
sizes with the official ones (80/30 classes, 92,291 zero sketches, 54,151 zero photos).

QuickDraw Ext has train and zero lists only and no semantic mask: the reader holds out a
seeded, class-stratified part of the seen train sketches for validation, and uses a zero mask.

Example:
  python data_scripts/get_quickdraw.py --archive ~/Downloads/datasets.zip --sha256 <hash>
"""
import sys
from pathlib import Path

try:
    import sbka_lite  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sbka_lite.data.download import SBKA_BUNDLE, run_script

SOURCES = [SBKA_BUNDLE]


def main(argv=None) -> int:
    return run_script(argv, benchmarks=["quickdraw"], sources=SOURCES,
                      script="data_scripts/get_quickdraw.py", description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
