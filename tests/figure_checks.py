"""Does a figure's legend describe what is plotted? `legend_problems(fig)` lists every mismatch.

An entry with a colour must match the colour of something drawn in its scope (its axes, or every axes for a
figure legend), and the colour of the series carrying its label where one does; an entry drawn in a neutral grey names a marker shape (a modality), which some scatter in
scope must use. Conversely every colour drawn as a series (a line or a scatter) must have its entry, unless
the legend says it left classes out ("... N more"). Colours are compared without alpha (error bands are
translucent copies of their line's colour).
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch


def _rgb(colour) -> tuple[float, ...] | None:
    if colour is None or (isinstance(colour, str) and colour.lower() == "none"):
        return None
    rgba = to_rgba(np.asarray(colour, dtype=float) if not isinstance(colour, str) else colour)
    return tuple(round(float(c), 3) for c in rgba[:3]) if rgba[3] > 0 else None


def _neutral(rgb) -> bool:
    return rgb is not None and max(rgb) - min(rgb) < 0.02


def _entry(handle) -> tuple[tuple | None, str | None]:
    """(colour, marker) a legend handle shows; (None, None) for a text-only entry."""
    if isinstance(handle, Line2D):
        marker = handle.get_marker()
        has_marker = marker not in (None, "", "None", " ")
        has_line = handle.get_linestyle() not in ("", "None", " ", "none")
        if not has_marker and not has_line:
            return None, None
        colour = handle.get_markerfacecolor() if has_marker and not has_line else handle.get_color()
        return _rgb(colour), marker if has_marker else None
    if isinstance(handle, Patch):
        return _rgb(handle.get_facecolor()), None
    if isinstance(handle, PathCollection):
        colours = handle.get_facecolors()
        return (_rgb(colours[0]) if len(colours) else None), None
    return None, None


def _drawn(axes) -> tuple[set, set, list, dict]:
    """Colours of the series (lines, scatters), of everything (bars and bands too), scatter marker paths, and
    the colours of each labelled series (a label not starting with "_")."""
    series, everything, paths, labelled = set(), set(), [], {}
    for ax in axes:
        for line in ax.lines:
            rgb = _rgb(line.get_color())
            if rgb is not None and len(line.get_xdata()) and line.get_visible():
                series.add(rgb)
                everything.add(rgb)
                if not line.get_label().startswith("_"):
                    labelled.setdefault(line.get_label(), set()).add(rgb)
        for collection in ax.collections:
            colours = {_rgb(c) for c in collection.get_facecolors()} - {None}
            everything |= colours
            if isinstance(collection, PathCollection) and len(collection.get_offsets()):
                series |= colours
                paths += [p.vertices for p in collection.get_paths()]
                if not collection.get_label().startswith("_"):
                    labelled.setdefault(collection.get_label(), set()).update(colours)
        for patch in ax.patches:
            rgb = _rgb(patch.get_facecolor())
            if rgb is not None:
                everything.add(rgb)
    return series, everything, paths, labelled


def _same_shape(marker: str, paths: list) -> bool:
    want = MarkerStyle(marker).get_path().transformed(MarkerStyle(marker).get_transform()).vertices
    return any(p.shape == want.shape and np.allclose(p, want, atol=1e-6) for p in paths)


def legend_problems(fig) -> list[str]:
    problems = []
    legends = [(ax.get_legend(), [ax]) for ax in fig.axes if ax.get_legend() is not None]
    legends += [(legend, fig.axes) for legend in fig.legends]
    for legend, scope in legends:
        series, everything, paths, labelled = _drawn(scope)
        named, truncated = set(), False
        for text, handle in zip(legend.get_texts(), legend.legend_handles):
            label = text.get_text()
            colour, marker = _entry(handle)
            if colour is None and marker is None:
                truncated |= "more" in label
                continue
            if _neutral(colour) and marker is not None and colour not in everything:
                if not _same_shape(marker, paths):
                    problems.append(f"legend entry {label!r}: marker {marker!r} matches no scatter drawn")
                continue
            named.add(colour)
            if colour not in everything:
                problems.append(f"legend entry {label!r}: colour {colour} matches nothing drawn")
            elif label in labelled and colour not in labelled[label]:
                problems.append(f"legend entry {label!r} is {colour}, but the series {label!r} is drawn in "
                                f"{sorted(labelled[label])}")
        if not truncated:
            for colour in series - named:
                if not _neutral(colour):
                    problems.append(f"a series drawn in {colour} has no legend entry")
    return problems
