"""Search your own photos with one sketch.

    from sbka_lite.search import SketchSearch
    search = SketchSearch("~/Pictures", checkpoint="outputs/runs/sbka/best.pt")   # or no checkpoint
    for hit in search.query("my_sketch.png", k=10):
        print(hit.distance, hit.path)

    python -m sbka_lite.search --photos ~/Pictures --checkpoint best.pt my_sketch.png --top 10

The folder is embedded once, in batches (GPU when present), by the same `sbka_lite.features.Embedder`
evaluation uses, and cached on disk keyed by each file's path, size, modification time, inode
change time and inode (so ``cp -p``, ``rsync -t`` and ``chmod`` count as changes) and by the
checkpoint's content hash: opening it again embeds only new or changed photos and forgets deleted
ones. The cache never overwrites a file it did not write (`ForeignFileError`). Images are decoded
only by `sbka_lite.data.decode`; photos above `MAX_PHOTO_PIXELS` are decoded reduced (JPEG) or
skipped, and every skipped file is listed with its reason; photos whose embedding is all zeros or
non-finite (a blank page) are set aside, listed in ``.set_aside`` and not ranked. Ranking
is exact by default (`sbka_lite.distances.exact_topk`); a FAISS IVF index is optional for very large
folders, and the fitted cluster matcher of `sbka_lite.retrieval` is available as ``matcher="cluster"``.

| module | holds |
|---|---|
| `photos` | listing a folder's photos (stamps, broken links), the size cap, decoding one |
| `cache` | the on-disk embedding cache (`.npz`, atomic, no pickles) |
| `index` | the optional FAISS IVF-Flat index |
| `sketch` | a query (path, PIL image, array) as an RGB image |
| `model` | `load_embedder` (checkpoint or pretrained) and the embedder protocol |
| `engine` | `SketchSearch` and its result types |
| `sheet`, `pad` | the contact sheet; the notebook drawing pad |
| `evaluate` | precision@k per query class, against chance |
| `cli` | ``python -m sbka_lite.search`` |
"""
from sbka_lite.features import Embedder
from sbka_lite.model_identity import ModelInfo

from .cache import EmbeddingCache, default_cache_path, file_sha256, is_our_cache
from .cli import main
from .engine import SearchHit, SketchSearch, SkippedPhoto, UpdateReport
from .errors import CacheUnusable, ForeignFileError, ModelMismatchError, SearchCacheWarning, SearchError
from .evaluate import ClassPrecision, folder_class, precision_at_k_by_class
from .index import FaissIndex, import_faiss
from .model import SearchEmbedder, load_embedder
from .photos import MAX_PHOTO_PIXELS, PHOTO_EXTENSIONS, FileStamp, PhotoScan, list_photos, scan_photos
from .sheet import contact_sheet, short_name
from .sketch import sketch_to_image

__all__ = [
    "SketchSearch", "SearchHit", "SkippedPhoto", "UpdateReport", "Embedder", "SearchEmbedder", "ModelInfo",
    "load_embedder", "sketch_to_image", "contact_sheet", "short_name", "main",
    "SearchError", "ModelMismatchError", "SearchCacheWarning", "CacheUnusable", "ForeignFileError",
    "EmbeddingCache", "is_our_cache", "FaissIndex", "import_faiss", "default_cache_path", "file_sha256",
    "FileStamp", "PhotoScan", "list_photos", "scan_photos", "MAX_PHOTO_PIXELS", "PHOTO_EXTENSIONS",
    "ClassPrecision", "folder_class", "precision_at_k_by_class",
]
