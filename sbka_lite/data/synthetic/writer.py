"""Writing a benchmark: file lists, class files, mask and meta in the SAKE layout, rendered in parallel
and installed atomically.

Files written under `root` (relative paths in lists; class folders may contain spaces and
brackets)::

    sketch/<class>/{train,test,zero}_0000.png      photo/<class>/{train,zero}_0000.jpg
    zeroshot/sketch_filelist_{train,test,zero}.txt  zeroshot/photo_filelist_{train,zero}.txt
    zeroshot/cname_cid.txt  zeroshot/cname_cid_zero.txt  zeroshot/cid_mask.pickle
    synthetic_meta.json
"""
from __future__ import annotations

import errno
import json
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from ...paths import exclusive, shown
from .catalogue import SYNTHETIC_CLASSES
from .instance import check_size, image_seed
from .mask import MASK_RULE, semantic_mask
from .photo import draw_photo
from .registry import IMAGENET_NAMES
from .sketch import draw_sketch

GENERATOR_VERSION = 1
ZERO_FOLDER = "zeroshot"
META_FILE = "synthetic_meta.json"
LIST_NAMES = ("sketch_filelist_train.txt", "sketch_filelist_test.txt", "sketch_filelist_zero.txt",
              "photo_filelist_train.txt", "photo_filelist_zero.txt")
# (modality, split, which classes, the count parameter): the order of the render jobs
PLAN = (("sketch", "train", "seen", "sketches_per_class"), ("sketch", "test", "seen", "test_sketches_per_class"),
        ("photo", "train", "seen", "photos_per_class"), ("sketch", "zero", "unseen", "unseen_sketches_per_class"),
        ("photo", "zero", "unseen", "unseen_photos_per_class"))
MINIMUM_COUNTS = {"sketches_per_class": 1, "test_sketches_per_class": 0, "photos_per_class": 1,
                  "unseen_sketches_per_class": 1, "unseen_photos_per_class": 1}

RenderJob = tuple  # (output folder, relative path, class name, modality, image seed, size)


def make_synthetic_benchmark(
    root: str | os.PathLike,
    *,
    seed: int = 0,
    image_size: int = 128,
    sketches_per_class: int = 40,
    test_sketches_per_class: int = 8,
    photos_per_class: int = 40,
    unseen_sketches_per_class: int = 30,
    unseen_photos_per_class: int = 40,
    classes: Iterable[str] | None = None,
    n_workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the synthetic sketch/photo benchmark under `root` in the SAKE layout and return `root`.

    Args:
        root: target folder. It must not exist, be empty, or hold a synthetic benchmark.
        seed: the whole benchmark is a pure function of the seed and the parameters below.
        image_size: side of the square images in pixels (>= 16).
        sketches_per_class / test_sketches_per_class / photos_per_class: per *seen* class, images in
            the train sketch, held-out test sketch and train photo lists.
        unseen_sketches_per_class / unseen_photos_per_class: per *unseen* class (zero lists).
        classes: a subset of `SYNTHETIC_CLASSES` names (keeps each class's fixed split; must hold at
            least one seen and one unseen class); None means all 54. A class's images do not depend
            on which other classes are chosen.
        n_workers: processes for rendering; None means os.cpu_count(), 1 renders in this process.
        force: replace an existing synthetic benchmark made with other parameters. Folders that do
            not hold a synthetic benchmark are never overwritten.
        progress: show a progress bar and print the generation time.

    If `root` already holds a complete benchmark with identical parameters it is returned at once.
    The benchmark is written to a hidden sibling folder and renamed into place at the end, so an
    interrupted run never leaves a half-written benchmark at `root`.
    """
    root = Path(root).expanduser().absolute()
    counts = {"sketches_per_class": sketches_per_class, "test_sketches_per_class": test_sketches_per_class,
              "photos_per_class": photos_per_class, "unseen_sketches_per_class": unseen_sketches_per_class,
              "unseen_photos_per_class": unseen_photos_per_class}
    chosen = _check_request(seed, image_size, counts, classes, n_workers)
    params = {"seed": seed, "image_size": image_size, **counts, "classes": chosen}
    # one generation per folder: a parallel caller waits, then finds the benchmark complete
    with exclusive(root.parent / f".{root.name}.lock", f"generating the synthetic benchmark at {root}"):
        if not _reuse_existing(root, params, force, progress):
            _generate(root, params, n_workers, force, progress)
    return root


def _check_count(name: str, value: int, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_request(seed, image_size, counts: dict, classes, n_workers) -> list[str]:
    """Validate the parameters; returns the chosen classes in catalogue order (so labels do not depend on argument order)."""
    check_size(image_size)
    for name, value in counts.items():
        _check_count(name, value, MINIMUM_COUNTS[name])
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if n_workers is not None:
        _check_count("n_workers", n_workers, 1)
    chosen = list(SYNTHETIC_CLASSES) if classes is None else list(dict.fromkeys(classes))
    unknown = [c for c in chosen if c not in SYNTHETIC_CLASSES]
    if unknown:
        raise ValueError(f"unknown synthetic classes {unknown}; choose from {list(SYNTHETIC_CLASSES)}")
    chosen = [c for c in SYNTHETIC_CLASSES if c in chosen]
    if not any(SYNTHETIC_CLASSES[c].split == "seen" for c in chosen) or not any(SYNTHETIC_CLASSES[c].split == "unseen" for c in chosen):
        raise ValueError(f"classes must include at least one seen and one unseen class, got {chosen}")
    return chosen


def _reuse_existing(root: Path, params: dict, force: bool, progress: bool) -> bool:
    """True when `root` already holds this very benchmark; raises when it holds something we must not replace."""
    if not root.exists():
        return False
    if not root.is_dir():
        raise FileExistsError(f"{root} exists and is not a folder; pass a folder path for the synthetic benchmark")
    old = _read_meta(root)
    if old is None and any(root.iterdir()):
        raise FileExistsError(f"{root} holds files that are not a synthetic benchmark (no {META_FILE}); refusing to "
                              "overwrite them: choose a new or empty folder")
    if old is None:
        return False
    if old.get("version") == GENERATOR_VERSION and old.get("parameters") == params and _is_complete(root):
        if progress:
            print(f"synthetic benchmark already complete at {shown(root)} (same parameters); not regenerating")
        return True
    if not force:
        differs = sorted(k for k in set(params) | set(old.get("parameters", {})) if old.get("parameters", {}).get(k) != params.get(k))
        why = f"parameters differ in {differs}" if differs else "it is incomplete or from another generator version"
        raise FileExistsError(f"{root} holds a synthetic benchmark that does not match the request ({why}); "
                              "pass force=True to regenerate it, or choose another folder")
    return False


def _generate(root: Path, params: dict, n_workers: int | None, force: bool, progress: bool) -> None:
    """Render into a hidden sibling folder, write the index, then move it into place."""
    chosen = params["classes"]
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(root)
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}-{time.time_ns()}"
    started = time.perf_counter()
    lists, plan = _plan(chosen, params["seed"], params)
    try:
        for modality in ("sketch", "photo"):
            for c in chosen:
                (tmp / modality / c).mkdir(parents=True, exist_ok=True)
        jobs = [(str(tmp), rel, name, modality, s, params["image_size"]) for rel, name, modality, s in plan]
        workers = max(1, min(n_workers or os.cpu_count() or 1, len(jobs) // 16 or 1))
        _render_all(jobs, workers, progress)
        _write_index(tmp, lists, _meta(params, chosen))
        _install(tmp, root, force)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        raise _disk_full(root, len(plan), params["image_size"]) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        print(f"synthetic benchmark: {len(jobs)} images ({params['image_size']} px) in {time.perf_counter() - started:.1f} s "
              f"with {workers} worker(s) -> {shown(root)}")


def _disk_full(root: Path, n_images: int, image_size: int) -> OSError:
    # about 2.3 KB per 128-px image (PNG sketches, JPEG photos), measured on the demo benchmark
    needed = n_images * 2300 * (image_size / 128) ** 2 * 1.2
    free = shutil.disk_usage(root.parent).free
    return OSError(errno.ENOSPC, f"no space left on the device while writing the synthetic benchmark into {root.parent} "
                                 f"(about {needed / 1e6:.0f} MB needed for {n_images} images, {free / 1e6:.0f} MB free "
                                 "now); free some space, or set SBKA_DATA_ROOT "
                                 "to a folder on another disk")


def _plan(classes: Sequence[str], seed: int, counts: dict[str, int]) -> tuple[dict[str, list[str]], list[tuple]]:
    """File-list lines and render jobs; labels number seen and unseen classes separately from 0."""
    by_split = {split: [c for c in classes if SYNTHETIC_CLASSES[c].split == split] for split in ("seen", "unseen")}
    lists: dict[str, list[str]] = {name: [] for name in LIST_NAMES}
    jobs = []
    for modality, split, class_split, count_key in PLAN:
        ext = "png" if modality == "sketch" else "jpg"
        for label, name in enumerate(by_split[class_split]):
            for i in range(counts[count_key]):
                rel = f"{modality}/{name}/{split}_{i:04d}.{ext}"
                lists[f"{modality}_filelist_{split}.txt"].append(f"{rel} {label}")
                jobs.append((rel, name, modality, image_seed(seed, name, modality, split, i)))
    return lists, jobs


def _render_job(job: RenderJob) -> int:
    out_dir, rel, class_name, modality, seed, size = job
    path = Path(out_dir) / rel
    if modality == "sketch":
        draw_sketch(class_name, seed=seed, size=size).convert("L").save(path, format="PNG")
    else:  # JPEG quality varies like in a crawled photo set
        quality = 60 + seed % 33
        draw_photo(class_name, seed=seed, size=size).save(path, format="JPEG", quality=quality)
    return 1


def _render_chunk(jobs: list[RenderJob]) -> int:
    return sum(_render_job(j) for j in jobs)


def _render_all(jobs: list[RenderJob], workers: int, progress: bool) -> None:
    with tqdm(total=len(jobs), desc="synthetic images", unit="img", disable=not progress) as bar:
        if workers == 1:
            for job in jobs:
                bar.update(_render_job(job))
            return
        chunk = max(4, min(64, len(jobs) // (workers * 8)))
        chunks = [jobs[i: i + chunk] for i in range(0, len(jobs), chunk)]
        # fork on Linux: instant start and no `if __name__ == "__main__"` guard needed in user scripts
        # (workers only use numpy and PIL, so forking a threaded parent such as a Jupyter kernel is safe)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            pool = mp.get_context(method).Pool(workers)
        with pool:
            for done in pool.imap_unordered(_render_chunk, chunks):
                bar.update(done)


def _meta(params: dict, classes: Sequence[str]) -> dict:
    seen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "seen"]
    unseen = [c for c in classes if SYNTHETIC_CLASSES[c].split == "unseen"]
    families: dict[str, list[str]] = {}
    for c in classes:
        families.setdefault(SYNTHETIC_CLASSES[c].family, []).append(c)

    def describe(c: str) -> dict:
        cls = SYNTHETIC_CLASSES[c]
        return {"family": cls.family, "split": cls.split, "role": cls.role, "label": (seen if cls.split == "seen" else unseen).index(c),
                "imagenet": {str(i): IMAGENET_NAMES[i] for i in cls.imagenet}, "description": cls.description}

    return {
        "generator": "sbka_lite.data.synthetic",
        "version": GENERATOR_VERSION,
        "parameters": params,
        "split": {"seen": seen, "unseen": unseen},
        "families": families,
        "classes": {c: describe(c) for c in classes},
        "semantic_mask_rule": MASK_RULE,
        "layout": {"zero_folder": ZERO_FOLDER, "lists": list(LIST_NAMES), "sketch_format": "PNG (grayscale)", "photo_format": "JPEG"},
    }


def _write_index(tmp: Path, lists: dict[str, list[str]], meta: dict) -> None:
    zero = tmp / ZERO_FOLDER
    zero.mkdir(parents=True, exist_ok=True)
    for name, lines in lists.items():
        (zero / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    seen, unseen = meta["split"]["seen"], meta["split"]["unseen"]
    (zero / "cname_cid.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(seen)), encoding="utf-8")
    (zero / "cname_cid_zero.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(unseen)), encoding="utf-8")
    rows = semantic_mask(seen)
    with open(zero / "cid_mask.pickle", "wb") as f:
        pickle.dump({i: rows[c] for i, c in enumerate(seen)}, f, protocol=4)
    # written last: its presence marks a complete benchmark
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _is_complete(root: Path) -> bool:
    """All lists, class files and mask exist and every listed image is on disk."""
    zero = root / ZERO_FOLDER
    needed = [zero / n for n in LIST_NAMES] + [zero / "cname_cid.txt", zero / "cname_cid_zero.txt", zero / "cid_mask.pickle", root / META_FILE]
    if not all(p.is_file() for p in needed):
        return False
    for name in LIST_NAMES:
        for line in (zero / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not (root / line.rsplit(" ", 1)[0]).is_file():
                return False
    return True


def _read_meta(root: Path) -> dict | None:
    try:
        return json.loads((root / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_stale_partials(root: Path) -> None:
    """Delete leftovers of interrupted runs (their process is gone); a live run's folder is left alone."""
    prefix = f".{root.name}.partial-"
    for folder in [p for p in root.parent.iterdir() if p.name.startswith(prefix)]:
        try:
            pid = int(folder.name.rsplit("-", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass


def _install(tmp: Path, root: Path, force: bool) -> None:
    """Move the finished benchmark into place; an old synthetic benchmark is swapped out, then deleted."""
    if root.exists() and not any(root.iterdir()):
        root.rmdir()
    if not root.exists():
        try:
            tmp.rename(root)
            return
        except OSError:
            if not root.exists():
                raise
    # another process finished first, or force=True on an existing synthetic benchmark
    old = _read_meta(root)
    new = _read_meta(tmp)
    if old is not None and new is not None and old == new and _is_complete(root):
        return
    if old is None or not force:
        raise FileExistsError(f"{root} appeared while the benchmark was generated and holds something else; not overwriting it")
    trash = root.parent / f".{root.name}.old-{os.getpid()}-{time.time_ns()}"
    root.rename(trash)
    tmp.rename(root)
    shutil.rmtree(trash, ignore_errors=True)
