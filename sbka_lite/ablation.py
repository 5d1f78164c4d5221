"""``python -m sbka_lite.ablation`` (``make ablation``): the code is `sbka_lite.experiments.ablation`."""
import sys

from sbka_lite.experiments.ablation import main

if __name__ == "__main__":
    sys.exit(main())
