"""A drawing pad for notebooks: sketch with the mouse (or a finger), press Search, see the photos.

    from sbka_lite.search.pad import drawing_pad
    drawing_pad(search, k=10)           # search: a sbka_lite.search.SketchSearch

The pad keeps the strokes in Python and renders them with PIL at search time, pixel for pixel
what the canvas shows (same pen width, round ends), so a search never waits for the browser to
send the canvas's pixels back. Headless (papermill, CI) there is no mouse: give the pad
a generated sketch with `DrawingPad.load_sketch` and call `DrawingPad.run_search`; the same
result grid appears.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from sbka_lite.data.errors import ImageReadError

from .engine import SearchHit
from .photos import load_photo
from .sheet import short_name
from .sketch import sketch_to_image

__all__ = ["DrawingPad", "drawing_pad", "results_grid"]

# A screenshot of the pad in Chromium (tests/test_search_browser.py), for where no kernel draws the widget:
# an executed notebook opened statically, the website. Jupyter prefers the live widget in the same output.
PICTURE = Path(__file__).with_name("pad_picture.jpg")
PICTURE_TEXT = "A drawing pad: draw a sketch with the mouse and press Search (run the notebook in Jupyter to use it)."
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _png_bytes(image: Image.Image, size: int) -> bytes:
    image = ImageOps.contain(image, (size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def results_grid(hits: Sequence[SearchHit], *, columns: int = 5, thumb: int = 120):
    """An ipywidgets grid of the ranked photos, each captioned with rank, distance and name."""
    import ipywidgets as widgets

    tiles = []
    for rank, hit in enumerate(hits, 1):
        try:
            picture = widgets.Image(value=_png_bytes(load_photo(hit.path), thumb), format="png")
        except ImageReadError as error:
            picture = widgets.HTML(f"<i>unreadable: {html.escape(error.reason or str(error))}</i>")
        picture.layout = widgets.Layout(width=f"{thumb}px", height=f"{thumb}px", object_fit="contain")
        caption = widgets.HTML(f"<b>#{rank}</b> d={hit.distance:.3f}<br><small>{html.escape(short_name(hit.path))}</small>",
                               layout=widgets.Layout(width=f"{thumb}px", overflow="hidden"))
        tiles.append(widgets.VBox([picture, caption]))
    grid = widgets.GridBox(tiles, layout=widgets.Layout(grid_template_columns=f"repeat({columns}, {thumb + 12}px)",
                                                        grid_gap="6px"))
    grid.add_class("sbka-results")
    return grid


class DrawingPad:
    """The widgets and state of one pad; `drawing_pad` returns its `widget` (with `.pad` pointing back)."""

    def __init__(self, search: Any, *, k: int = 10, size: int = 256, pen_width: int = 4,
                 matcher: str = "one_to_one", columns: int = 5, thumb: int = 120) -> None:
        import ipywidgets as widgets
        from ipycanvas import Canvas

        self.search, self.k, self.size, self.pen_width = search, k, size, pen_width
        self.matcher, self.columns, self.thumb = matcher, columns, thumb
        self.strokes: list[list[tuple[float, float]]] = []
        self.background: Image.Image | None = None  # a loaded sketch the strokes are drawn over
        self.hits: list[SearchHit] = []
        self._pen_is_down = False

        self.canvas = Canvas(width=size, height=size, layout=widgets.Layout(
            width=f"{size}px", height=f"{size}px", border="1px solid #999"))
        self.canvas.add_class("sbka-canvas")
        for register, handler in ((self.canvas.on_mouse_down, self._pen_down), (self.canvas.on_mouse_move, self._pen_move),
                                  (self.canvas.on_mouse_up, self._pen_up), (self.canvas.on_mouse_out, self._pen_up)):
            register(handler)
        for register, handler in ((self.canvas.on_touch_start, self._pen_down), (self.canvas.on_touch_move, self._pen_move),
                                  (self.canvas.on_touch_end, self._pen_up), (self.canvas.on_touch_cancel, self._pen_up)):
            register(lambda touches, handler=handler: touches and handler(*touches[0]))

        self.search_button = widgets.Button(description="Search", button_style="primary", icon="search")
        self.clear_button = widgets.Button(description="Clear", icon="eraser")
        self.search_button.on_click(lambda _: self.run_search())
        self.clear_button.on_click(lambda _: self.clear())
        self.status = widgets.HTML(f"Draw a sketch, then press <b>Search</b> ({len(search)} photos).")
        self.results = widgets.VBox()
        self.results.add_class("sbka-results-area")
        controls = widgets.VBox([self.search_button, self.clear_button, self.status],
                                layout=widgets.Layout(margin="0 0 0 12px", width="260px"))
        self.widget = widgets.VBox([widgets.HBox([self.canvas, controls]), self.results])
        self.widget.add_class("sbka-pad")
        self.widget.pad = self
        self.widget._repr_mimebundle_ = self._mimebundle  # the widget, plus its picture and a sentence
        self._paint_paper()

    def _mimebundle(self, **kwargs: Any) -> dict[str, Any]:
        live = type(self.widget)._repr_mimebundle_(self.widget, **kwargs) or {}
        return {**live, "image/jpeg": base64.b64encode(PICTURE.read_bytes()).decode("ascii"), "text/plain": PICTURE_TEXT}

    # -- drawing -------------------------------------------------------------------------------
    def _paint_paper(self) -> None:
        self.canvas.clear()
        self.canvas.fill_style = "white"
        self.canvas.fill_rect(0, 0, self.size, self.size)
        if self.background is not None:
            self.canvas.put_image_data(np.asarray(self.background), 0, 0)
        self.canvas.stroke_style = "black"
        self.canvas.fill_style = "black"
        self.canvas.line_width = self.pen_width
        self.canvas.line_cap = "round"
        self.canvas.line_join = "round"

    def _pen_down(self, x: float, y: float) -> None:
        self._pen_is_down = True
        self.strokes.append([(x, y)])
        self.canvas.fill_circle(x, y, self.pen_width / 2)

    def _pen_move(self, x: float, y: float) -> None:
        if not self._pen_is_down:
            return
        last = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self.canvas.stroke_line(last[0], last[1], x, y)

    def _pen_up(self, x: float, y: float) -> None:
        self._pen_is_down = False

    def clear(self) -> None:
        """Wipe the strokes, any loaded sketch and the results."""
        self.strokes, self.background, self.hits = [], None, []
        self.results.children = ()
        self.status.value = "Cleared. Draw a sketch, then press <b>Search</b>."
        self._paint_paper()

    def load_sketch(self, sketch: Any) -> None:
        """Put an existing sketch (path, PIL image or array) on the pad, e.g. a generated one headless."""
        image = sketch_to_image(sketch)
        image.thumbnail((self.size, self.size))
        paper = Image.new("RGB", (self.size, self.size), "white")
        paper.paste(image, ((self.size - image.width) // 2, (self.size - image.height) // 2))
        self.strokes, self.background = [], paper
        self._paint_paper()

    def sketch(self) -> np.ndarray:
        """What is on the pad as a uint8 RGB array: the loaded sketch, if any, under the strokes."""
        image = self.background.copy() if self.background is not None else Image.new("RGB", (self.size, self.size), "white")
        draw, radius = ImageDraw.Draw(image), self.pen_width / 2
        for stroke in self.strokes:
            if len(stroke) > 1:
                draw.line(stroke, fill="black", width=self.pen_width, joint="curve")
            for x, y in stroke:  # round caps and joints, like the canvas's
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill="black")
        return np.asarray(image)

    # -- searching -----------------------------------------------------------------------------
    def run_search(self) -> list[SearchHit]:
        """Query the search with what is on the pad and show the grid; errors show in the status line."""
        if not self.strokes and self.background is None:
            self.status.value = "<span style='color:#b00'>The pad is empty: draw something first.</span>"
            return []
        self.status.value = "Searching..."
        try:
            self.hits = self.search.query(self.sketch(), k=self.k, matcher=self.matcher)
        except Exception as error:  # a widget callback's traceback would vanish into the log console
            self.status.value = f"<span style='color:#b00'>Search failed: {html.escape(str(error))}</span>"
            raise
        self.results.children = (results_grid(self.hits, columns=self.columns, thumb=self.thumb),)
        points = sum(len(s) for s in self.strokes)
        self.status.value = (f"Top {len(self.hits)} of {len(self.search)} photos for "
                             f"<span class='sbka-stroke-count'>{len(self.strokes)}</span> strokes ({points} points).")
        return self.hits


def drawing_pad(search: Any, *, k: int = 10, size: int = 256, pen_width: int = 4,
                matcher: str = "one_to_one", columns: int = 5, thumb: int = 120):
    """An ipywidgets box: a canvas to draw on with a black pen, Search and Clear buttons, and
    the top-`k` photos of `search` as a picture grid under it. The `DrawingPad` behind it is
    the box's ``.pad`` attribute."""
    return DrawingPad(search, k=k, size=size, pen_width=pen_width, matcher=matcher,
                      columns=columns, thumb=thumb).widget
