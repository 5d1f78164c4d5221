"""`make site` as a reader meets it: the website built from the smoke run's executed notebooks, opened in the
headless Chromium the drawing-pad test uses. Every chapter is reachable from the navigation and loads, every
figure renders (no broken image), and the API page is read from the docstrings.

The executed notebooks come from tests/test_notebooks.py, which keeps them in ``outputs/smoke/notebooks``
(it runs earlier in ``make test``); run alone, this test executes the missing ones first (a few minutes).
A screenshot of a chapter goes to ``outputs/test-artifacts/site_chapter.png`` (a copy: docs/figures/site_chapter.jpg).

The other tests build from stand-in notebooks, without a browser: the site never destroys a folder it did not write.
"""
from __future__ import annotations

import functools
import http.server
import threading

import nbformat
import pytest

from sbka_lite.paths import exclusive, outputs_dir, repo_root
from sbka_lite.tutorial.notebooks import notebook_paths, run_series
from sbka_lite.tutorial.series import run_dir
from sbka_lite.tutorial import site as site_cli
from sbka_lite.tutorial.site import build_site, chapter_title
from test_notebooks import SERIES_LOCK
from test_search_browser import CHROMIUM_ARGS, find_chromium

NOTEBOOKS = notebook_paths()


def _figures(path) -> int:
    """Image outputs an executed notebook holds: the chapter must show at least these."""
    nb = nbformat.read(path, as_version=4)
    return sum(any(k.startswith("image/") for k in out.get("data", {}))
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="mkdocs missing: run `make setup` (the dev extra installs it)")
    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set SBKA_CHROMIUM)")
    executed = run_dir(smoke=True) / "notebooks"
    with exclusive(run_dir(smoke=True).parent / SERIES_LOCK, "waiting for the smoke series"):  # see test_notebooks
        missing = [p.name[:2] for p in NOTEBOOKS if not (executed / p.name).is_file()]
        if missing:
            run_series("smoke", run_dir(smoke=True), only=missing)
    folder = build_site(tmp_path_factory.mktemp("site") / "site", source=executed)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", executed
    server.shutdown()


def _broken_images(page) -> list[str]:
    page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=30_000)
    return page.evaluate("() => [...document.images].filter(img => img.naturalWidth === 0)"
                         ".map(img => (img.getAttribute('src') || '').slice(0, 80))")


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_every_chapter_is_reachable_loads_and_renders_its_figures_and_the_api_is_documented(site):
    from playwright.sync_api import sync_playwright

    url, executed = site
    artifacts = outputs_dir("test-artifacts")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            for path in NOTEBOOKS:
                page.goto(url + "/index.html", wait_until="load")
                # through the navigation, as a reader would: the sidebar link with the chapter's title
                page.locator("nav.md-nav--primary a.md-nav__link", has_text=chapter_title(path)).first.click()
                page.wait_for_load_state("load")
                assert page.url.endswith(f"chapters/{path.stem}.html"), (path.name, page.url)
                body = page.locator("article").inner_text()
                assert "Traceback" not in body and "PapermillExecutionError" not in body, path.name
                assert _broken_images(page) == [], f"{path.name}: broken images"
                # at 1280 px no code block scrolls sideways, and nothing of the build machine shows
                wide = page.evaluate("() => [...document.querySelectorAll('article pre')]"
                                     ".filter(pre => pre.scrollWidth > pre.clientWidth + 1)"
                                     ".map(pre => pre.innerText.slice(0, 60))")
                assert wide == [], f"{path.name}: code scrolls sideways: {wide[:3]}"
                assert "PosixPath(" not in body and str(repo_root()) not in body and "/tmp/" not in body, path.name
                shown = page.evaluate("() => document.querySelectorAll('article img').length")
                assert shown >= _figures(executed / path.name), f"{path.name}: {shown} images shown"
                if path.name.startswith("04"):  # a chapter with figures, scrolled to its first one
                    page.locator("article img").first.scroll_into_view_if_needed()
                    page.mouse.wheel(0, -250)
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(artifacts / "site_chapter.png"))
            page.locator("nav.md-nav--primary a.md-nav__link", has_text="API reference").first.click()
            page.wait_for_load_state("load")
            api = page.locator("article").inner_text()
            assert "soft_cross_entropy" in api and "ClusterMatcher" in api and "check_voc_ap" in api
            assert page.locator("[id='sbka_lite.losses.soft_cross_entropy']").count() == 1
        finally:
            browser.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_where_no_kernel_runs_an_output_with_a_picture_shows_the_picture(tmp_path):
    from sbka_lite.tutorial.site import _static_chapter

    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    cells = [nbformat.v4.new_code_cell("pad", outputs=[nbformat.v4.new_output(
                 "display_data", data={"application/vnd.jupyter.widget-view+json": view, "image/jpeg": "AAAA",
                                       "text/plain": "A drawing pad"})]),
             nbformat.v4.new_code_cell("slider", outputs=[nbformat.v4.new_output(
                 "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": "IntSlider()"})])]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "06_x.ipynb")
    shown = nbformat.reads(_static_chapter(tmp_path / "06_x.ipynb").decode(), as_version=4)
    assert set(shown.cells[0].outputs[0].data) == {"image/jpeg", "text/plain"}  # nbconvert would pick the dead view
    assert "application/vnd.jupyter.widget-view+json" in shown.cells[1].outputs[0].data  # nothing to show instead


# --- never destroy what the site did not write ----------------------------------------------------------------------

@pytest.fixture
def stand_ins(tmp_path):
    """One-cell executed notebooks under the series' names: enough for MkDocs, in seconds."""
    folder = tmp_path / "executed"
    folder.mkdir()
    for path in NOTEBOOKS:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.stem}")]),
                       folder / path.name)
    return folder


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name, holding", [
    ("docs", {"METHOD.md": b"# the method", "CONTRACTS.md": b"# map", "figures/gap.png": b"png"}),
    ("thesis", {"thesis.tex": b"\\documentclass{book}", "my_photos/cat.jpg": b"jpeg"}),
], ids=["docs", "thesis"])
def test_the_site_refuses_a_folder_holding_files_it_did_not_write(stand_ins, tmp_path, capsys, name, holding):
    out = tmp_path / name
    for name, data in holding.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    assert site_cli.main(["--from", str(stand_ins), "--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert str(out) in error and next(iter(holding)) in error and "--force" in error, error
    assert _tree(out) == holding
    assert not (tmp_path / f"{name}-src").exists(), "nothing is written before both folders are checked"


def test_the_site_refuses_a_source_folder_holding_files_it_did_not_write(stand_ins, tmp_path, capsys):
    notes = tmp_path / "site-src" / "docs" / "notes.md"
    notes.parent.mkdir(parents=True)
    notes.write_text("my notes")
    assert site_cli.main(["--from", str(stand_ins), "--out", str(tmp_path / "site")]) != 0
    assert "docs/notes.md" in capsys.readouterr().err
    assert notes.read_text() == "my notes" and not (tmp_path / "site").exists()


def test_the_site_rebuilds_its_own_output_and_force_overrides(stand_ins, tmp_path, capsys):
    pytest.importorskip("mkdocs", reason="mkdocs missing: run `make setup` (the dev extra installs it)")
    out = tmp_path / "site"
    build_site(out, stand_ins)
    build_site(out, stand_ins)  # its own earlier output (and MkDocs' cache in site-src): no --force needed
    (out / "index.html").write_text("edited by hand")
    (out / "mine.txt").write_text("mine")
    assert site_cli.main(["--from", str(stand_ins), "--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert "mine.txt" in error and "index.html" in error and "changed since" in error, error
    assert (out / "mine.txt").read_text() == "mine" and (out / "index.html").read_text() == "edited by hand"
    assert site_cli.main(["--from", str(stand_ins), "--out", str(out), "--force"]) == 0
    assert not (out / "mine.txt").exists() and "edited by hand" not in (out / "index.html").read_text()
    build_site(out, stand_ins)  # and the forced build is the site's own again
