"""The series as a static website (``make site``): executed notebooks as chapters, plus the API reference.

Built with MkDocs: mkdocs-jupyter renders the executed notebooks (outputs and figures as they ran, no
re-execution), mkdocstrings reads the package's docstrings (statically, with griffe: nothing is imported),
and the Material theme gives search and navigation. All of it is pure Python, so it builds offline
without Node.js. The chapters come from a run of the series (``make demo`` writes
``outputs/demo/notebooks``; the smoke tests write ``outputs/smoke/notebooks``).

    python -m sbka_lite.tutorial.site --from outputs/demo/notebooks --out build/site

The site empties its --out folder and rewrites <out>-src, so both must be empty, missing or its own earlier
output: a folder holding anything else (``--out docs``) is refused, naming the files, unless ``--force``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from sbka_lite.ownership import NotOurs, Ownership, claim
from sbka_lite.paths import repo_root
from sbka_lite.tutorial.notebooks import notebook_paths

# The modules a reader opens to learn the method, in the order of the data flow (docs/CONTRACTS.md).
API_MODULES = ["sbka_lite.losses", "sbka_lite.objective", "sbka_lite.distances", "sbka_lite.metrics_reference",
               "sbka_lite.metrics", "sbka_lite.retrieval", "sbka_lite.gap", "sbka_lite.features", "sbka_lite.unseen",
               "sbka_lite.train", "sbka_lite.tutorial.exercises"]
DEFAULT_SOURCES = ("outputs/demo/notebooks", "outputs/smoke/notebooks")
# Notebook code is up to 120 characters a line: a wider column, and code that wraps instead of scrolling sideways.
WIDE_CSS = """\
.md-grid { max-width: 1600px; }
.md-typeset pre, .md-typeset pre > code, .jupyter-wrapper pre, .highlight pre {
  white-space: pre-wrap; overflow-wrap: anywhere;
}
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TOOL = "sbka_lite.tutorial.site"  # the name in the ownership manifests of the site and its -src folder


def chapter_title(path: Path) -> str:
    """``02_modality_gap.ipynb`` -> ``02 · Modality gap``."""
    number, _, name = path.stem.partition("_")
    return f"{number} · {name.replace('_', ' ').capitalize()}"


def executed_notebooks(source: str | Path | None = None) -> list[Path]:
    """The executed copy of every numbered notebook, from `source` or the first default folder holding all."""
    names = [p.name for p in notebook_paths()]
    folders = [Path(source)] if source else [repo_root() / s for s in DEFAULT_SOURCES]
    for folder in folders:
        found = [folder / name for name in names]
        if all(p.is_file() for p in found):
            return found
    where = " or ".join(str(f) for f in folders)
    missing = [n for n in names if not (folders[0] / n).is_file()]
    raise FileNotFoundError(f"no executed notebooks in {where} (missing e.g. {missing[:3]}): run `make demo` first "
                            "(or `python -m sbka_lite.tutorial.notebooks --mode smoke --out outputs/smoke`)")


def _config(chapters: list[Path]) -> dict:
    return {
        "site_name": "sbka-lite: SBKA for zero-shot sketch-based image retrieval",
        "site_description": "The notebook series, executed, and the package's API reference.",
        "use_directory_urls": False,  # plain .html files: the site opens from disk as well as from a server
        "theme": {"name": "material", "font": False,  # no Google Fonts: builds and reads offline
                  # the page's table of contents in the left sidebar: the content column gets the right one's width
                  "features": ["navigation.sections", "navigation.footer", "toc.integrate"]},
        "extra_css": ["stylesheets/wide.css"],
        "plugins": ["search",
                    {"mkdocs-jupyter": {"execute": False, "include_source": True, "ignore_h1_titles": True}},
                    {"mkdocstrings": {"handlers": {"python": {
                        "paths": [str(repo_root())],
                        "options": {"show_source": False, "docstring_style": "google", "members_order": "source",
                                    "show_root_heading": True, "filters": ["!^_"]}}}}}],
        "nav": [{"Home": "index.md"},
                {"Chapters": [{chapter_title(p): f"chapters/{p.name}"} for p in chapters]},
                {"API reference": "api.md"}],
    }


def _static_chapter(path: Path) -> bytes:
    """The executed notebook as the site shows it: no kernel runs there, so an output that also holds a picture
    (the drawing pad's) shows the picture; nbconvert would pick the widget view and draw nothing."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and any(key.startswith("image/") for key in data):
                del data[WIDGET_VIEW]
    return nbformat.writes(notebook).encode()


def _index(chapters: list[Path]) -> str:
    lines = ["# sbka-lite", "", "A small package and a numbered notebook series that teach and reproduce SBKA",
             "(Symmetrical Bidirectional Knowledge Alignment) for zero-shot sketch-based image retrieval.",
             "Each chapter is a notebook as it ran; the API reference is read from the package's docstrings.", ""]
    lines += [f"- [{chapter_title(p)}](chapters/{p.stem}.md)" for p in chapters]
    lines += ["- [API reference](api.md)", ""]
    return "\n".join(lines)


def write_project(chapters: list[Path], project: Path, force: bool = False) -> Ownership:
    """Lay out an MkDocs project (config, home, chapters, API page) in `project`; returns its ownership record
    (``mkdocs.yml`` is ``record.folder / "mkdocs.yml"``). Refuses (`NotOurs`) a folder holding files this tool
    did not write, or changed since, unless `force`."""
    api = ["# API reference", "", "The method's modules, in the order data flows through them.", ""]
    planned = {f"docs/chapters/{path.name}": _static_chapter(path) for path in chapters}
    planned["docs/index.md"] = _index(chapters).encode()
    planned["docs/stylesheets/wide.css"] = WIDE_CSS.encode()
    planned["docs/api.md"] = "\n".join(api + [f"::: {module}\n" for module in API_MODULES]).encode()
    planned["mkdocs.yml"] = yaml.safe_dump(_config(chapters), sort_keys=False, allow_unicode=True).encode()
    owned = claim(project, TOOL, force=force)
    owned.remove([p for p in owned.present() if p.startswith("docs/") and p not in planned])  # old chapters
    owned.write_all(planned)
    return owned


def build_site(out: str | Path = "build/site", source: str | Path | None = None, force: bool = False) -> Path:
    """Build the static site into `out` from executed notebooks; returns the folder (open index.html).

    `out` and its sibling ``<out>-src`` (the MkDocs project) must be empty, missing, or this tool's own
    earlier output: anything else in them is refused (`sbka_lite.ownership.NotOurs`) unless `force`, since
    ``mkdocs build --clean`` empties `out`."""
    root = repo_root()
    out = Path(out) if Path(out).is_absolute() else root / out
    chapters = executed_notebooks(source)
    site = claim(out, TOOL, force=force)  # both folders are checked before either is touched
    project = write_project(chapters, out.parent / (out.name + "-src"), force=force)
    config = project.folder / "mkdocs.yml"
    command = [sys.executable, "-m", "mkdocs", "build", "--quiet", "--clean", "--config-file", str(config),
               "--site-dir", str(out)]
    done = subprocess.run(command, cwd=config.parent, capture_output=True, text=True)  # its .cache stays there
    project.record_all()
    site.record_all()  # mkdocs wrote the site on our behalf (and its --clean spares our hidden manifest)
    if done.returncode != 0:
        raise RuntimeError(f"mkdocs build failed ({' '.join(command)}):\n{done.stderr[-4000:]}\n"
                           "If mkdocs is missing, run `make setup` (the dev extra installs the site builders).")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", help="folder of executed notebooks (default: "
                        + ", else ".join(DEFAULT_SOURCES) + ")")
    parser.add_argument("--out", default="build/site", help="where to write the site (ignored by git)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite and delete files in --out (and <out>-src) that this tool did not write")
    args = parser.parse_args(argv)
    try:
        out = build_site(args.out, args.source, force=args.force)
    except NotOurs as error:
        print(f"[sbka-lite] site: {error}", file=sys.stderr)
        return 2
    print(f"[sbka-lite] site: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
