"""``python -m sbka_lite.sweep``: the code is `sbka_lite.experiments.sweep`."""
import sys

from sbka_lite.experiments.sweep import main

if __name__ == "__main__":
    sys.exit(main())
