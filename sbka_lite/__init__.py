"""sbka-lite: Symmetrical Bidirectional Knowledge Alignment for zero-shot sketch-based image retrieval."""

__version__ = "0.1.0"
