"""``python -m sbka_lite.search``: see `sbka_lite.search.cli`."""
import sys

from .cli import main

sys.exit(main())
