"""The class builders, one module per family. Importing this package registers every class.

The import order below is the catalogue order: it fixes the class labels (seen and unseen classes
are each numbered in this order), so append new families at the end.
"""
from . import buildings, vehicles, containers, plants, lamps, animals, tools, clocks, electronics, boats, instruments

__all__ = ["buildings", "vehicles", "containers", "plants", "lamps", "animals", "tools", "clocks", "electronics", "boats", "instruments"]
