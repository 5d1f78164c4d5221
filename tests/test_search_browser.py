"""The drawing pad as a person uses it: JupyterLab in a real headless Chromium, mouse strokes, Search.

Needs Chromium (Debian's ``chromium`` package; ``make test`` installs it as root, or point
``SBKA_CHROMIUM`` at a binary), Playwright's Python package and the ipycanvas JupyterLab
extension; skips saying which is missing. Screenshots go to ``outputs/test-artifacts/``.

    python -m pytest tests/test_search_browser.py -m browser -v
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sbka_lite.paths import outputs_dir

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_draw_and_search.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
K = 10  # notebook 06's TOP_K


def find_chromium() -> str | None:
    for candidate in (os.environ.get("SBKA_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def requirements_missing() -> str | None:
    if find_chromium() is None:
        return "no Chromium found (apt-get install chromium, or set SBKA_CHROMIUM); browsers cannot be downloaded here"
    for module in ("playwright", "jupyterlab", "ipycanvas"):
        try:
            __import__(module)
        except ImportError:
            return f"Python package {module!r} missing (pip install -e '.[dev]')"
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "ipycanvas" / "package.json"
    if not extension.is_file():
        return f"the ipycanvas JupyterLab extension is not installed under {extension.parent}"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebook 06 (smoke size); yields (url, log path)."""
    missing = requirements_missing()
    if missing:
        pytest.skip(missing)
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    # Isolated Jupyter state: no user settings leak in, no news pop-up covers the notebook, and the
    # notebook renders every cell (no virtual scrolling) so the pad is always in the page.
    config, settings = tmp_path / "config", tmp_path / "settings"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), "sbka-browser-test"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "HF_HUB_OFFLINE": "1", "SBKA_DEVICE": "cpu", "SBKA_SMOKE": "1"}  # notebook 06 at smoke size
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI and containers run as root
        command.append("--allow-root")
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", log
    finally:
        try:  # a clean shutdown also stops the kernel it started
            request = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                             headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(request, timeout=10).close()
            server.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def test_draw_on_the_pad_press_search_and_see_the_grid(jupyterlab):
    from playwright.sync_api import sync_playwright

    url, log = jupyterlab
    artifacts = outputs_dir("test-artifacts")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            # Wait for the notebook and its kernel, then run every cell as a person would with "Run All".
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'); }", timeout=120_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            canvas = page.locator(".sbka-pad canvas").first
            canvas.wait_for(state="visible", timeout=180_000)
            canvas.scroll_into_view_if_needed()
            status = page.locator(".sbka-pad .widget-html").first
            page.wait_for_function("() => document.querySelector('.sbka-pad').innerText.includes('Draw a sketch')")

            box = canvas.bounding_box()
            centre_x, centre_y, radius = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.3
            import math

            ring = [(centre_x + radius * math.cos(t / 24 * 2 * math.pi), centre_y + radius * math.sin(t / 24 * 2 * math.pi))
                    for t in range(25)]
            page.mouse.move(*ring[0])
            page.mouse.down()
            for point in ring[1:]:
                page.mouse.move(*point, steps=2)
            page.mouse.up()
            page.mouse.move(centre_x - radius / 3, centre_y)  # a second stroke: a short bar inside the ring
            page.mouse.down()
            page.mouse.move(centre_x + radius / 3, centre_y, steps=6)
            page.mouse.up()

            # The strokes went to the kernel and came back as drawing commands: the canvas has ink.
            page.wait_for_function(
                "() => { const c = document.querySelector('.sbka-pad canvas'); const d = c.getContext('2d')"
                ".getImageData(0, 0, c.width, c.height).data; let ink = 0;"
                " for (let i = 0; i < d.length; i += 4) if (d[i] < 80 && d[i + 3] > 200) ink++; return ink > 300; }",
                timeout=60_000)

            page.locator(".sbka-pad button", has_text="Search").click()
            page.wait_for_function(f"() => document.querySelectorAll('.sbka-results img').length >= {K}", timeout=120_000)
            page.locator(".sbka-results").scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # let the thumbnails paint before the screenshot
            page.locator(".sbka-pad").screenshot(path=str(artifacts / "search_pad.png"))
            page.screenshot(path=str(artifacts / "search_pad_page.png"))

            text = status.inner_text()
            assert re.search(rf"Top {K} of \d+ photos for 2 strokes", text), text
            images = page.locator(".sbka-results img")
            assert images.count() == K
            sizes = images.evaluate_all("els => els.map(e => [e.naturalWidth, e.naturalHeight])")
            assert all(w > 0 and h > 0 for w, h in sizes), f"a result thumbnail did not decode: {sizes}"
            captions = page.locator(".sbka-results .widget-html").all_inner_texts()
            assert len(captions) == K and all(re.search(r"\.(jpg|png)", c) for c in captions), captions

            page.locator(".sbka-pad button", has_text="Clear").click()
            page.wait_for_function("() => document.querySelectorAll('.sbka-results img').length === 0", timeout=30_000)
        except Exception:
            page.screenshot(path=str(artifacts / "search_pad_failure.png"))
            print(f"JupyterLab log (tail):\n{log.read_text()[-3000:]}")
            raise
        finally:
            browser.close()
