"""Training throughput of SBKA against a plain timm fine-tuning loop, on the same batches.

    python benchmarks/train_speed.py                      # CPU, configs/demo.yaml, ~2 minutes
    python benchmarks/train_speed.py --device cuda --set backbone=convnextv2_tiny.fcmae_ft_in1k \\
        --set pretrained=false --set image_size=224 --set sketches_per_batch=70 --set photos_per_batch=140

Arms (each: forward, backward and optimiser step on identical pre-loaded batches, so image
decoding does not blur the comparison; decoding is timed on its own):

* ``plain_timm``: timm classifier with its head reset to the seen classes, cross-entropy, Adam.
* ``finetune``: our student with ``alignment="none"`` (L_cls + Gaussian term).
* ``sbka_phase1``: teacher forward (no autograd) + L_KA^S, the warm-up.
* ``sbka_phase2``: both directions, the teacher's head trained too.

The arms run interleaved for several rounds and each reports its median step time, so a busy
shared machine slows all arms alike. Ratios within one run are what count. Writes
``benchmarks/results/train_speed.json``.
"""
from __future__ import annotations

import argparse
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
from sbka_lite.device import autocast, get_device, seed_everything  # noqa: E402
from sbka_lite.models import build_backbone, image_config  # noqa: E402
from sbka_lite.train import (  # noqa: E402
    SBKATrainer,
    TrainConfig,
    open_training_benchmark,
    parse_set_overrides,
    semantic_mask_of,
)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", default="", help="cpu / cuda (default: sbka_lite.device.get_device())")
    parser.add_argument("--batches", type=int, default=3, help="distinct pre-loaded batches")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per arm and round")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "train_speed.json"))
    args = parser.parse_args(argv)
    if args.threads:
        # On a CPU shared with other jobs, fewer threads avoid OpenMP spin-waiting on busy cores.
        torch.set_num_threads(args.threads)

    overrides = parse_set_overrides(args.set)
    if args.device:
        overrides["device"] = args.device
    config = TrainConfig.from_yaml(args.config, overrides)
    device = get_device(config.device or None)
    benchmark = open_training_benchmark(config)
    classes = list(benchmark.seen_classes)

    # identical batches for every arm, decoded once (and timed: the input pipeline's own rate)
    probe = build_backbone(config.backbone, pretrained=False)
    ic = image_config(probe)
    size = config.image_size or ic.input_size
    transform = ImageTransform(size, ic.mean, ic.std, augment=config.augment, interpolation=ic.interpolation)
    dataset = MixedSketchPhotoDataset(benchmark.items("train", "sketch"), benchmark.items("train", "photo"), classes, transform)
    sampler = MixedBatchSampler(len(dataset.items[0]), len(dataset.items[1]), config.sketches_per_batch,
                                config.photos_per_batch, steps_per_epoch=args.batches, seed=config.seed)
    started = time.perf_counter()
    batches = [collate_mixed([dataset[key] for key in keys]) for keys in sampler]
    decode_seconds = time.perf_counter() - started
    batch_images = int(batches[0].images.shape[0])

    mask = semantic_mask_of(benchmark, classes)
    arms = {
        "plain_timm": PlainTimm(config, len(classes), device),
        "finetune": SBKATrainer(config.replace(alignment="none"), classes, mask, device),
        "sbka_phase1": SBKATrainer(config, classes, mask, device),
        "sbka_phase2": SBKATrainer(config.replace(alignment="bidirectional"), classes, mask, device),
    }
    epochs = {"plain_timm": 0, "finetune": 0, "sbka_phase1": 0, "sbka_phase2": max(config.warmup_epochs, 0)}
    for name, arm in arms.items():
        if isinstance(arm, SBKATrainer):
            arm.start_epoch(epochs[name])
        arm.step(batches[0], epochs[name], 0)  # warm-up: allocations, kernel selection
    _sync(device)

    times: dict[str, list[float]] = {name: [] for name in arms}
    for round_index in range(args.rounds):
        for name, arm in arms.items():
            for step in range(args.steps):
                batch = batches[(round_index * args.steps + step) % len(batches)]
                _sync(device)
                tick = time.perf_counter()
                arm.step(batch, epochs[name], step + 1)
                _sync(device)
                times[name].append(time.perf_counter() - tick)
        print(f"round {round_index + 1}/{args.rounds}: " + ", ".join(
            f"{n} {batch_images / statistics.median(t):.1f} img/s" for n, t in times.items()), flush=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "what": "training images/s (forward + backward + optimiser step, pre-loaded batches)",
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "config": str(Path(args.config).resolve().relative_to(REPO)) if Path(args.config).resolve().is_relative_to(REPO) else args.config,
        "backbone": config.backbone,
        "image_size": size,
        "channels_last": config.channels_last,
        "amp": bool(config.amp and device.type == "cuda"),
        "batch": {"sketches": config.sketches_per_batch, "photos": config.photos_per_batch, "images": batch_images},
        "timed_steps_per_arm": len(times["plain_timm"]),
        "arms": {name: {"images_per_s": batch_images / median[name], "median_step_s": median[name],
                        "step_s": [round(t, 4) for t in times[name]]} for name in arms},
        "ratios_to_plain_timm": {name: median[name] / median["plain_timm"] for name in arms},
        "teacher_cost": {
            "phase1_over_finetune": median["sbka_phase1"] / median["finetune"],
            "phase2_over_finetune": median["sbka_phase2"] / median["finetune"],
        },
        "input_pipeline_images_per_s_one_process": len(batches) * batch_images / decode_seconds,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("device", "image_size", "ratios_to_plain_timm", "teacher_cost")}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
