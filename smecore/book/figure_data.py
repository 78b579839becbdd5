"""The numbers behind a figure, as one CSV a reader can download.

A chapter's figure is drawn with ordinary matplotlib. :func:`figure_table` reads the data
back from the drawn artists (lines, error bars, bands, histograms, reference lines and
spans), so the file always matches the picture: there is no second list of arrays to keep
in step with the plotting code. :func:`save_figure_data` writes the table as CSV in long
("tidy") form, one row per plotted point, after a few ``#`` lines that describe the panels
(title, axis labels) and the artists (legend label, colour)::

    # panel 0: title="Gaussian quadratic" xlabel="learning rate $\\eta$" ylabel="weak error"
    # artist 0.0: series="SME order 1" color=#0072b2
    panel,artist,kind,x,y,x_low,x_high,y_low,y_high
    0,0,line,0.0625,0.01234,,,,

``pandas.read_csv(path, comment="#")`` reads it. ``panel`` is the index of the axes in
``fig.axes``; ``artist`` numbers the artists of a panel, so the rows of one curve can be told
from another's even when neither has a legend label; the colours name roles (black for SGD,
vermilion for the order-2 SME, ...: :data:`smecore.book.COLORS`). ``kind`` says how to
read a row:

========== ==============================================================================
kind       meaning of the coordinates
========== ==============================================================================
line       a point ``(x, y)`` of a curve or marker series
errorbar   a point ``(x, y)`` with its bar ``[y_low, y_high]`` (and ``[x_low, x_high]``)
hline      a horizontal reference line at ``y``
vline      a vertical reference line at ``x``
band       a vertex ``(x, y)`` of a shaded region (``fill_between``), in drawing order
outline    a vertex ``(x, y)`` of a polygon, e.g. a step histogram
bar        a bar over ``[x_low, x_high]`` of height ``y`` (``x`` is its centre)
vspan      a shaded vertical strip ``[x_low, x_high]``
hspan      a shaded horizontal strip ``[y_low, y_high]``
points     a scatter point ``(x, y)``
========== ==============================================================================

Values are written with 10 significant digits: ample for replotting or comparing.

Files are committed with the book, and every execution of a chapter (``jupyter-book build``,
nbval, papermill) regenerates them. On another CPU or BLAS build the last digits of the numbers
differ (more for differences of nearly equal numbers, such as small weak errors), so
:func:`save_figure_data` does not rewrite an existing file that holds the same table up to
rounding: same header and text fields, and every number within :data:`RTOL` relative (plus
:data:`ATOL` times the largest magnitude of its panel's axis, for values at rounding level).
A run with other parameters or changed code rewrites it; a rerun on another machine leaves a
clean checkout clean.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pathlib
import warnings

import numpy as np

__all__ = ["COLUMNS", "CSV_COLUMNS", "RTOL", "ATOL", "figure_table", "save_figure_data",
           "same_table"]


#: Keys of the rows of :func:`figure_table`.
COLUMNS = ("panel", "title", "xlabel", "ylabel", "series", "artist", "color", "kind",
           "x", "y", "x_low", "x_high", "y_low", "y_high")


_COORDS = COLUMNS[8:]


#: Columns of the CSV file; the panel and artist descriptions go to its ``#`` header lines.
CSV_COLUMNS = ("panel", "artist", "kind") + _COORDS


#: Relative tolerance under which a regenerated number counts as unchanged (far below what a
#: figure shows, far above the rounding differences between machines).
RTOL = 1e-4

#: Absolute tolerance, as a fraction of the largest magnitude on the same axis of the same
#: panel: values at rounding level (relative to their panel) count as unchanged.
ATOL = 1e-9


_KINDS_LINE = ("# kinds: line, points (x, y); errorbar (x, y, y_low..y_high, x_low..x_high); "
               "hline (y); vline (x); band, outline (polygon vertex x, y); "
               "bar (x_low..x_high, height y); vspan (x_low..x_high); hspan (y_low..y_high)")


def _label(artist) -> str:
    label = artist.get_label() or ""
    return "" if label.startswith("_") else str(label)


def _color(artist) -> str:
    """The colour a reader sees: a line's colour, else the face colour, else the edge colour."""
    from matplotlib.colors import to_hex

    if hasattr(artist, "get_color") and not hasattr(artist, "get_facecolor"):
        return to_hex(artist.get_color())
    for getter in ("get_facecolor", "get_edgecolor"):
        color = np.asarray(getattr(artist, getter)(), dtype=float).reshape(-1, 4)
        if color.size and color[0, 3] > 0:
            return to_hex(color[0])
    return ""


def _data_axes(artist, ax):
    """Which coordinates of ``artist`` are data coordinates: ``(x_is_data, y_is_data)``."""
    transform = artist.get_transform()
    # Not "==": transforms compare by value, and on axes with limits (0, 1) the axes
    # transform equals the data transform, which would turn an axhline into a curve.
    if transform is ax.transData:
        return True, True
    try:
        return tuple(bool(b) for b in transform.contains_branch_seperately(ax.transData))
    except (AttributeError, ValueError):
        return False, False


def _floats(values):
    return np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()


def _errorbar_bounds(container):
    """``(x_bounds, y_bounds)`` of an error-bar container: arrays of shape (n, 2) or None."""
    bounds = {"x": None, "y": None}
    for collection in container[2]:
        segments = collection.get_segments()
        if not segments:
            continue
        seg = np.array([s[[0, -1]] for s in segments], dtype=float)  # (n, 2 ends, 2 coords)
        if np.allclose(seg[:, 0, 0], seg[:, 1, 0]):  # vertical bars: y errors
            bounds["y"] = np.sort(seg[:, :, 1], axis=1)
        else:
            bounds["x"] = np.sort(seg[:, :, 0], axis=1)
    return bounds["x"], bounds["y"]


def _axes_rows(panel, ax):
    head = {"panel": panel, "title": ax.get_title(), "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel()}
    rows, skip, numbers = [], set(), {}

    def number(artist):
        return numbers.setdefault(id(artist), len(numbers))

    def add(artist, kind, series=None, color=None, **coords):
        rows.append({**head, "series": _label(artist) if series is None else series,
                     "artist": number(artist), "color": _color(artist) if color is None else color,
                     "kind": kind, **coords})

    errorbars = {}
    for container in ax.containers:
        if type(container).__name__ == "ErrorbarContainer":
            data_line, caplines, barcols = container
            skip.update(map(id, caplines))
            skip.update(map(id, barcols))
            if data_line is not None:
                errorbars[id(data_line)] = (container, _errorbar_bounds(container))
        elif type(container).__name__ == "BarContainer":
            for patch in container.patches:
                skip.add(id(patch))
                x0, w = patch.get_x(), patch.get_width()
                add(container, "bar", color=_color(patch), x=x0 + w / 2, y=patch.get_y() + patch.get_height(),
                    x_low=x0, x_high=x0 + w)

    for line in ax.lines:
        if id(line) in skip:
            continue
        x, y = _floats(line.get_xdata()), _floats(line.get_ydata())
        x_data, y_data = _data_axes(line, ax)
        if id(line) in errorbars:
            container, (xb, yb) = errorbars[id(line)]
            series = _label(container) or _label(line)
            for i in range(x.size):
                coords = {"x": x[i], "y": y[i]}
                if xb is not None and i < len(xb):
                    coords.update(x_low=xb[i, 0], x_high=xb[i, 1])
                if yb is not None and i < len(yb):
                    coords.update(y_low=yb[i, 0], y_high=yb[i, 1])
                add(line, "errorbar", series=series, **coords)
        elif x_data and y_data:
            for xi, yi in zip(x, y):
                add(line, "line", x=xi, y=yi)
        elif y_data:  # axhline: x runs over the axes, y is data
            add(line, "hline", y=y[0])
        elif x_data:  # axvline
            add(line, "vline", x=x[0])

    for patch in ax.patches:
        if id(patch) in skip:
            continue
        x_data, y_data = _data_axes(patch, ax)
        kind = type(patch).__name__
        if kind == "Rectangle":
            x0, y0 = patch.get_x(), patch.get_y()
            x1, y1 = x0 + patch.get_width(), y0 + patch.get_height()
            if x_data and y_data:
                add(patch, "bar", x=(x0 + x1) / 2, y=y1, x_low=x0, x_high=x1)
            elif x_data:
                add(patch, "vspan", x_low=x0, x_high=x1)
            elif y_data:
                add(patch, "hspan", y_low=y0, y_high=y1)
        elif x_data and y_data and hasattr(patch, "get_xy"):
            for xi, yi in np.asarray(patch.get_xy(), dtype=float):
                add(patch, "outline", x=xi, y=yi)
        else:
            warnings.warn(f"figure_table: a {kind} patch is not written to the data file",
                          stacklevel=3)

    for collection in ax.collections:
        if id(collection) in skip:
            continue
        name = type(collection).__name__
        if name == "PathCollection":  # scatter
            for xi, yi in np.asarray(collection.get_offsets(), dtype=float):
                add(collection, "points", x=xi, y=yi)
        elif name in ("PolyCollection", "FillBetweenPolyCollection"):
            for path in collection.get_paths():
                for xi, yi in np.asarray(path.vertices, dtype=float):
                    add(collection, "band", x=xi, y=yi)
        else:
            warnings.warn(f"figure_table: a {name} is not written to the data file",
                          stacklevel=3)

    if ax.images:
        warnings.warn("figure_table: images are not written to the data file", stacklevel=3)
    return rows


def figure_table(fig):
    """Read the plotted data back from a matplotlib figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A drawn figure.

    Returns
    -------
    list of dict
        One row per plotted point, with the keys of ``COLUMNS`` (coordinates that do not
        apply to a row's ``kind`` are missing). Artists the table cannot represent (images,
        arbitrary line collections) are left out with a warning.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([1, 2], [3, 4], label="SGD")
    >>> _ = ax.axhline(0.5)
    >>> [(r["series"], r["kind"], r.get("x"), r["y"]) for r in figure_table(fig)]
    [('SGD', 'line', 1.0, 3.0), ('SGD', 'line', 2.0, 4.0), ('', 'hline', None, 0.5)]
    >>> plt.close(fig)
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    rows = []
    for panel, ax in enumerate(fig.axes):
        rows.extend(_axes_rows(panel, ax))
    for row in rows:
        for key in _COORDS:
            if key in row:
                row[key] = float(row[key])
    return rows


def _format(value) -> str:
    if isinstance(value, float):
        return format(value, ".10g")
    return str(value)


def _split(text):
    lines = text.splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    rows = list(csv.reader(ln for ln in lines if not ln.startswith("#")))
    return header, rows


def _number(text):
    return math.nan if text == "" else float(text)


def same_table(old, new, *, rtol=RTOL, atol=ATOL) -> bool:
    """Whether two data files (as text) hold the same table up to rounding.

    Parameters
    ----------
    old, new : str
        Contents of two files written by :func:`save_figure_data`.
    rtol : float
        Relative tolerance of each number.
    atol : float
        Absolute tolerance, as a fraction of the largest magnitude among the values of the
        same axis (x or y columns) in the same panel of ``new``.

    Returns
    -------
    bool
        True if the ``#`` header lines, the columns and every text field are equal, and every
        number agrees: ``|a - b| <= rtol * max(|a|, |b|) + atol * scale`` (NaNs and empty
        fields must match exactly).

    Examples
    --------
    >>> head = "panel,artist,kind,x,y,x_low,x_high,y_low,y_high\\n"
    >>> same_table(head + "0,0,line,0.1,1.000000000,,,,\\n", head + "0,0,line,0.1,1.000000001,,,,\\n")
    True
    >>> same_table(head + "0,0,line,0.1,1,,,,\\n", head + "0,0,line,0.1,1.001,,,,\\n")
    False
    """
    (old_head, old_rows), (new_head, new_rows) = _split(old), _split(new)
    if old_head != new_head or len(old_rows) != len(new_rows) or not new_rows:
        return False
    if old_rows[0] != new_rows[0] or tuple(new_rows[0]) != CSV_COLUMNS:
        return False
    numeric = [i for i, name in enumerate(CSV_COLUMNS) if name in _COORDS]
    try:
        a = np.array([[_number(r[i]) for i in numeric] for r in old_rows[1:]], dtype=float)
        b = np.array([[_number(r[i]) for i in numeric] for r in new_rows[1:]], dtype=float)
    except (ValueError, IndexError):
        return False
    if any(len(r) != len(CSV_COLUMNS) for r in old_rows[1:]):
        return False
    text = [i for i in range(len(CSV_COLUMNS)) if i not in numeric]
    if any([o[i] for i in text] != [n[i] for i in text] for o, n in zip(old_rows[1:], new_rows[1:])):
        return False
    a, b = a.reshape(-1, len(numeric)), b.reshape(-1, len(numeric))
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    # the scale of each value: the largest finite magnitude on its axis in its panel
    panels = np.array([r[0] for r in new_rows[1:]])
    axis = np.array([CSV_COLUMNS[i][0] for i in numeric])  # "x" or "y"
    scale = np.zeros_like(b)
    magnitude = np.where(np.isfinite(b), np.abs(b), 0.0)
    for panel in np.unique(panels):
        rows = panels == panel
        for name in ("x", "y"):
            cols = axis == name
            scale[np.ix_(rows, cols)] = magnitude[np.ix_(rows, cols)].max(initial=0.0)
    with np.errstate(invalid="ignore"):
        close = (a == b) | (np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + atol * scale)
    return bool(np.all(close | np.isnan(a)))


def save_figure_data(fig, path) -> pathlib.Path:
    """Write the data behind ``fig`` to a CSV file, for readers to download next to it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A drawn figure.
    path : str or os.PathLike
        Where to write; must end in ``.csv``. Missing parent folders are created.

    Returns
    -------
    pathlib.Path
        The file written: ``#`` lines describing the panels and artists, then the columns
        ``CSV_COLUMNS``, one row per plotted point (see the module docstring). An
        existing file holding the same table up to rounding (``same_table``) is left
        untouched, so that rerunning a chapter on another machine changes no committed file.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib figure.
    ValueError
        If ``path`` does not end in ``.csv``, or the figure shows no data.

    Examples
    --------
    >>> import tempfile, pathlib, matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0.1, 0.2], [1.0, 4.0], color="black", label="weak error")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = save_figure_data(fig, pathlib.Path(tmp) / "fig.csv")
    ...     print(out.read_text())  # doctest: +ELLIPSIS
    # The data behind one figure: ...
    # panel 0: title="" xlabel="" ylabel=""
    # artist 0.0: series="weak error" color=#000000
    panel,artist,kind,x,y,x_low,x_high,y_low,y_high
    0,0,line,0.1,1,,,,
    0,0,line,0.2,4,,,,
    <BLANKLINE>
    >>> plt.close(fig)
    """
    path = pathlib.Path(os.fspath(path))
    if path.suffix != ".csv":
        raise ValueError(f"path must end in .csv, got {str(path)!r}")
    rows = figure_table(fig)
    if not rows:
        raise ValueError("the figure shows no data to save (no lines, bars, bands or spans)")

    def quoted(text):
        return json.dumps(text, ensure_ascii=False)

    lines = ["# The data behind one figure: one row per plotted point. "
             'Read with pandas.read_csv(path, comment="#").', _KINDS_LINE]
    panels, artists = {}, {}
    for row in rows:
        panels.setdefault(row["panel"], row)
        artists.setdefault((row["panel"], row["artist"]), row)
    for panel, row in panels.items():
        lines.append(f"# panel {panel}: title={quoted(row['title'])} "
                     f"xlabel={quoted(row['xlabel'])} ylabel={quoted(row['ylabel'])}")
    for (panel, artist), row in artists.items():
        lines.append(f"# artist {panel}.{artist}: series={quoted(row['series'])} "
                     f"color={row['color'] or 'none'}")
    buffer = io.StringIO()
    buffer.write("\n".join(lines) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_format(row[key]) if key in row else "" for key in CSV_COLUMNS])
    text = buffer.getvalue()
    try:
        unchanged = path.is_file() and same_table(path.read_text(encoding="utf-8"), text)
    except (OSError, UnicodeDecodeError):
        unchanged = False
    if not unchanged:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    return path
