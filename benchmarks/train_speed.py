"""Training throughput of SBKA against a plain timm fine-tuning loop, on the same batches.

    python benchmarks/train_speed.py                      # CPU, configs/demo.yaml, ~2 minutes
    python benchmarks/train_speed.py --device cuda --set backbone=convnextv2_tiny.fcmae_ft_in1k \\
        --set pretraining=imagenet --set pretrained=false --set image_size=224 --set sketches_per_batch=70 --set photos_per_batch=140 \\
        --precision amp fp32 --layout channels_last contiguous     # the four GPU variants (gpu_check.sh)

Arms (each: forward, backward and optimiser step on identical pre-loaded batches, so image
decoding does not blur the comparison; decoding is timed on its own):

* ``plain_timm``: timm classifier with its head reset to the seen classes, cross-entropy, Adam.
* ``finetune``: our student with ``alignment="none"`` (L_cls + Gaussian term).
* ``sbka_phase1``: teacher forward (no autograd) + L_KA^S, the warm-up.
* ``sbka_phase2``: both directions, the teacher's head trained too.

The arms run interleaved for several rounds and each reports its median step time, so a busy
shared machine slows all arms alike. Ratios within one run are what count. ``--precision`` (``amp``:
bf16 autocast where the GPU supports it, else fp16; ``fp32``) and ``--layout`` (``channels_last``,
``contiguous``) time every combination on the same batches, one after another; each variant reports
its arms' images/s and, on a GPU, their peak memory. Writes ``benchmarks/results/train_speed.json``
(one variant: its figures at the top level, as before; several: a ``variants`` list).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sbka_lite.data.loading import (  # noqa: E402
    ImageTransform,
    MixedBatchSampler,
    MixedSketchPhotoDataset,
    collate_mixed,
)
from sbka_lite.device import amp_dtype, autocast, get_device, seed_everything  # noqa: E402
from sbka_lite.models import build_backbone, image_config, input_size_of  # noqa: E402
from sbka_lite.paths import write_json_atomic  # noqa: E402
from sbka_lite.build import build_model, build_trainer, open_training_benchmark, semantic_mask_of  # noqa: E402
from sbka_lite.config import TrainConfig, parse_set_overrides  # noqa: E402
from sbka_lite.trainer import Trainer  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PlainTimm:
    """The baseline: what anyone would write to fine-tune a timm model on the seen classes."""

    def __init__(self, config: TrainConfig, n_classes: int, device: torch.device) -> None:
        seed_everything(config.seed)
        self.model = build_backbone(config.backbone, config.pretrained)
        self.model.reset_classifier(n_classes)
        fmt = torch.channels_last if config.channels_last else torch.contiguous_format
        self.model.to(device=device, memory_format=fmt).train()
        self.fmt, self.device, self.amp = fmt, device, config.amp
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def step(self, batch, epoch: int, global_step: int) -> None:
        images = batch.images.to(self.device).contiguous(memory_format=self.fmt)
        labels = batch.labels.to(self.device)
        with autocast(self.device, enabled=self.amp):
            loss = torch.nn.functional.cross_entropy(self.model(images).float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


ARMS = ("plain_timm", "finetune", "sbka_phase1", "sbka_phase2")


def load_batches(config: TrainConfig, n_batches: int):
    """The benchmark's seen classes, its semantic mask and `n_batches` decoded batches (timed)."""
    benchmark = open_training_benchmark(config)
    classes = list(benchmark.seen_classes)
    ic = image_config(build_backbone(config.backbone, pretrained=False))
    size = input_size_of(config.backbone, config.image_size)
    transform = ImageTransform(size, ic.mean, ic.std, augment=config.augment, interpolation=ic.interpolation)
    dataset = MixedSketchPhotoDataset(benchmark.items("train", "sketch"), benchmark.items("train", "photo"), classes, transform)
    sampler = MixedBatchSampler(len(dataset.items[0]), len(dataset.items[1]), config.sketches_per_batch,
                                config.photos_per_batch, steps_per_epoch=n_batches, seed=config.seed)
    started = time.perf_counter()
    batches = [collate_mixed([dataset[key] for key in keys]) for keys in sampler]
    decode_seconds = time.perf_counter() - started
    return classes, semantic_mask_of(benchmark, classes, config.pretraining), batches, decode_seconds, size


def build_arms(config: TrainConfig, classes, mask, device: torch.device) -> tuple[dict, dict]:
    """Each arm's stepper and the epoch it steps in (phase 2 needs an epoch past the warm-up)."""
    def sbka(arm_config: TrainConfig) -> Trainer:
        return build_trainer(arm_config, build_model(arm_config, classes, mask), device)

    arms = {
        "plain_timm": PlainTimm(config, len(classes), device),
        "finetune": sbka(config.replace(alignment="none")),
        "sbka_phase1": sbka(config),
        "sbka_phase2": sbka(config.replace(alignment="bidirectional")),
    }
    epochs = {"plain_timm": 0, "finetune": 0, "sbka_phase1": 0, "sbka_phase2": max(config.warmup_epochs, 0)}
    return arms, epochs


def time_arms(arms: dict, epochs: dict, batches, device: torch.device, rounds: int, steps: int):
    """Median step seconds per arm over interleaved rounds, and each arm's peak GPU memory (MiB)."""
    for name, arm in arms.items():
        if isinstance(arm, Trainer):
            arm.start_epoch(epochs[name])
        arm.step(batches[0], epochs[name], 0)  # warm-up: allocations, kernel selection
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in arms}
    peak: dict[str, float | None] = {name: None for name in arms}
    images = int(batches[0].images.shape[0])
    for round_index in range(rounds):
        for name, arm in arms.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            for step in range(steps):
                batch = batches[(round_index * steps + step) % len(batches)]
                _sync(device)
                tick = time.perf_counter()
                arm.step(batch, epochs[name], step + 1)
                _sync(device)
                times[name].append(time.perf_counter() - tick)
            if device.type == "cuda":
                peak[name] = max(peak[name] or 0.0, torch.cuda.max_memory_allocated(device) / 2**20)
        print(f"round {round_index + 1}/{rounds}: " + ", ".join(
            f"{n} {images / statistics.median(t):.1f} img/s" for n, t in times.items()), flush=True)
    return times, peak


def variant_figures(config: TrainConfig, device: torch.device, times: dict, peak: dict, images: int) -> dict:
    median = {name: statistics.median(t) for name, t in times.items()}
    dtype = amp_dtype(device) if config.amp else None
    return {
        "precision": {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32"),
        "precision_requested": "amp" if config.amp else "fp32",
        "amp": dtype is not None,
        "channels_last": config.channels_last,
        "timed_steps_per_arm": len(times["plain_timm"]),
        "arms": {name: {"images_per_s": images / median[name], "median_step_s": median[name],
                        "peak_gpu_memory_mib": peak[name], "step_s": [round(t, 4) for t in times[name]]}
                 for name in times},
        "ratios_to_plain_timm": {name: median[name] / median["plain_timm"] for name in times},
        "teacher_cost": {"phase1_over_finetune": median["sbka_phase1"] / median["finetune"],
                         "phase2_over_finetune": median["sbka_phase2"] / median["finetune"]},
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", default="", help="cpu / cuda (default: sbka_lite.device.get_device())")
    parser.add_argument("--precision", nargs="+", choices=["amp", "fp32"], default=None,
                        help="amp (bf16 autocast where supported) and/or fp32 (default: the config's amp)")
    parser.add_argument("--layout", nargs="+", choices=["channels_last", "contiguous"], default=None,
                        help="memory layouts to time (default: the config's channels_last)")
    parser.add_argument("--batches", type=int, default=3, help="distinct pre-loaded batches")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per arm and round")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "train_speed.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        # On a CPU shared with other jobs, fewer threads avoid OpenMP spin-waiting on busy cores.
        torch.set_num_threads(args.threads)
    overrides = parse_set_overrides(args.set)
    if args.device:
        overrides["device"] = args.device
    config = TrainConfig.from_yaml(args.config, overrides)
    device = get_device(config.device or None)
    classes, mask, batches, decode_seconds, size = load_batches(config, args.batches)
    images = int(batches[0].images.shape[0])
    precisions = [p == "amp" for p in args.precision] if args.precision else [config.amp]
    layouts = [l == "channels_last" for l in args.layout] if args.layout else [config.channels_last]
    variants = []
    for amp, channels_last in itertools.product(precisions, layouts):
        variant = config.replace(amp=amp, channels_last=channels_last)
        print(f"variant: amp={amp and device.type == 'cuda'} channels_last={channels_last}", flush=True)
        arms, epochs = build_arms(variant, classes, mask, device)
        times, peak = time_arms(arms, epochs, batches, device, args.rounds, args.steps)
        variants.append(variant_figures(variant, device, times, peak, images))
        del arms
        if device.type == "cuda":
            torch.cuda.empty_cache()
    result = {
        "what": "training images/s (forward + backward + optimiser step, pre-loaded batches)",
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "config": str(Path(args.config).resolve().relative_to(REPO)) if Path(args.config).resolve().is_relative_to(REPO) else args.config,
        "backbone": config.backbone,
        "pretrained": config.pretrained,
        "image_size": size,
        "batch": {"sketches": config.sketches_per_batch, "photos": config.photos_per_batch, "images": images},
        "input_pipeline_images_per_s_one_process": len(batches) * images / decode_seconds,
        **(variants[0] if len(variants) == 1 else {"variants": variants}),
    }
    out = write_json_atomic(args.out, result)
    for figures in variants:
        print(json.dumps({k: figures[k] for k in ("precision", "channels_last", "ratios_to_plain_timm")}))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
