#!/usr/bin/env python
"""Get Sketchy Ext (zero-shot splits 1 and 2) in the SAKE file-list layout and check it.

Downloads (or takes --archive), unpacks safely into <root>/_extracted/, moves the dataset to
<root>/Sketchy, then opens both splits with sbka_lite.data.open_benchmark and compares their
sizes with the official ones (split 1: 100/25 classes, 15,229 / 17,101 zero sketches / photos;
split 2: 104/21 classes, 12,694 / 12,553).

Sources: --source sake (default) is the SAKE authors' direct link, which holds split 1 only;
--source sbka is the SBKA authors' Google Drive bundle with both splits (browser only).
No SHA-256 is published for either: the first download's hash is recorded and trusted.

Examples:
  python data_scripts/get_sketchy.py
  python data_scripts/get_sketchy.py --archive ~/Downloads/datasets.zip --sha256 <hash>
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
    return run_script(argv, benchmarks=["sketchy", "sketchy_split2"], sources=SOURCES,
                      script="data_scripts/get_sketchy.py", description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
