"""What a cache of embeddings keys on: `ModelInfo` (weights key, backbone, size, preprocessing) and
`weights_key`, the hash of a module's weights. `sbka_lite.features.Embedder.info` fills one in; the
photo-search cache (`sbka_lite.search.cache`) stores it and refuses embeddings of another model.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelInfo:
    """The identity of an embedding model, as far as a cache of its embeddings cares.

    `key` changes whenever the weights do; `backbone` and `dim` decide whether two models'
    embeddings are even comparable; `preprocessing` (mean/std) and `image_size` change the
    embeddings as surely as the weights.
    """

    key: str
    backbone: str
    dim: int
    image_size: int
    preprocessing: str = ""

    def describe(self) -> str:
        return f"{self.backbone} ({self.dim}-d, {self.image_size} px, {self.key})"


def backbone_name(module: nn.Module) -> str:
    if getattr(module, "backbone_name", None):
        return str(module.backbone_name)
    backbone = getattr(module, "backbone", module)
    config = getattr(backbone, "pretrained_cfg", None) or {}
    return str(config.get("architecture") or type(backbone).__name__)


def weights_key(module: nn.Module) -> str:
    """``weights:<sha256>`` of a module's parameters and buffers: changes whenever any weight does."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return "weights:" + digest.hexdigest()[:32]
