"""The command line: ``python -m sbka_lite.search --photos DIR [--checkpoint CKPT] sketch.png --top 10``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from sbka_lite.config import DEFAULT_BACKBONE
from sbka_lite.paths import outputs_dir

from .engine import SketchSearch
from .errors import SearchError
from .sheet import contact_sheet
from .sketch import sketch_to_image


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sbka_lite.search",
        description="Rank the photos of a folder by how well they match one sketch.")
    parser.add_argument("sketch", help="the sketch image (png/jpg; transparent background reads as white)")
    parser.add_argument("--photos", required=True, help="folder of photos, searched recursively")
    parser.add_argument("--checkpoint", help="a checkpoint written by sbka_lite.train (default: pretrained backbone)")
    parser.add_argument("--backbone", help=f"backbone when no checkpoint is given (default {DEFAULT_BACKBONE})")
    parser.add_argument("--image-size", type=int, help="input size in pixels (default: the model's)")
    parser.add_argument("--top", type=int, default=10, help="how many photos to list (default 10)")
    parser.add_argument("--matcher", choices=["one_to_one", "cluster"], default="one_to_one")
    parser.add_argument("--faiss", action="store_true", help="approximate FAISS IVF search (needs faiss-cpu)")
    parser.add_argument("--out", help="contact sheet PNG (default outputs/search/<sketch>_top<k>.png)")
    parser.add_argument("--cache", help="cache file (default under outputs/search-cache); "
                        "a file there that is not a search cache is refused, never overwritten")
    parser.add_argument("--no-cache", action="store_true", help="embed the folder without reading or writing a cache")
    parser.add_argument("--rebuild", action="store_true", help="re-embed every photo, even over another model's cache")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: GPU when present)")
    parser.add_argument("--batch-size", type=int, default=64)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (2 for bad input, with the reason on stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.top < 1:
            raise SearchError(f"--top must be at least 1; got {args.top}")
        query_image = sketch_to_image(args.sketch)  # fail on a bad sketch before embedding a folder
        search = SketchSearch(args.photos, args.checkpoint, backbone=args.backbone, image_size=args.image_size,
                              device=args.device, cache=False if args.no_cache else (args.cache or True),
                              rebuild=args.rebuild, batch_size=args.batch_size)
        print(search.last_update.summary(), file=sys.stderr)
        for skipped in search.skipped:
            print(f"  skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        for aside in search.set_aside:
            print(f"  set aside (not ranked) {aside.path}: {aside.reason}", file=sys.stderr)
        hits = search.query(query_image, k=args.top, matcher=args.matcher, backend="faiss" if args.faiss else "exact")
    except (SearchError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:>3}  {hit.distance:.4f}  {hit.path}")
    if args.out:
        out = Path(args.out)
    else:
        out = outputs_dir("search") / f"{Path(args.sketch).stem}_top{args.top}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(query_image, hits).save(out)
    print(f"contact sheet: {out}", file=sys.stderr)
    return 0
