#!/usr/bin/env python
"""Get TU-Berlin Ext in the SAKE file-list layout and check it.

Downloads (or takes --archive), unpacks safely into <root>/_extracted/, moves the dataset to
<root>/TUBerlin, then opens it with sbka_lite.data.open_benchmark and compares its sizes with
the official ones (220/30 classes, 2,400 zero sketches, 27,989 zero photos). The photo train
list (ImageResized_ready_filelist_train.txt) ships only inside the archive.

Sources: --source sake (default) is the SAKE authors' direct link; --source sbka is the SBKA
authors' Google Drive bundle (browser only). No SHA-256 is published for either: the first
download's hash is recorded and trusted.

Examples:
  python data_scripts/get_tuberlin.py
  python data_scripts/get_tuberlin.py --archive ~/Downloads/dataset.zip --sha256 <hash>
"""
import sys
from pathlib import Path

try:
    import sbka_lite  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sbka_lite.data.download import SAKE_DATASET, SBKA_BUNDLE, run_script

SOURCES = [SAKE_DATASET, SBKA_BUNDLE]


def main(argv=None) -> int:
    return run_script(argv, benchmarks=["tuberlin"], sources=SOURCES,
                      script="data_scripts/get_tuberlin.py", description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
