"""One plot style for every chapter: colour-blind safe, labelled, readable.

The palette is Okabe & Ito's (colour-blind safe). Chapters call
:func:`use_style` once, then draw with ordinary matplotlib, using
:data:`COLORS` for the recurring roles (SGD, SME order 1, SME order 2, ...)
and :func:`order_plot` for weak-error-versus-step-size figures, and hand each
finished figure to :func:`publish_figure`, which glues it into the book and writes the
data behind it next to it.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from .figure_data import save_figure_data

__all__ = ["PALETTE", "COLORS", "STYLE", "use_style", "order_plot", "reference_slope", "publish_figure",
           "default_data_dir"]


#: Okabe-Ito palette.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


#: Colours for the recurring roles, so a reader learns them once.
COLORS = {
    "sgd": "#000000",
    "sme1": "#0072B2",
    "sme2": "#D55E00",
    "ode": "#009E73",
    "momentum": "#CC79A7",
    "nesterov": "#E69F00",
    "reference": "#7f7f7f",
}


STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the book's matplotlib style (palette, grid, sizes).

    Examples
    --------
    >>> use_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["axes.grid"]
    True
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=PALETTE)


def order_plot(ax, step_sizes, errors, *, stderr=None, label=None, color=None, marker="o", fit=None):
    """Draw weak error against step size on log-log axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    step_sizes, errors : array_like
        Positive values of equal length.
    stderr : array_like, optional
        Standard errors, drawn as +/- 2 stderr bars.
    label : str, optional
    color : str, optional
    marker : str
    fit : OrderFit, optional
        A fitted order (from :func:`smecore.estimation.fit_order`); appended to the
        label as "slope 1.98 [1.95, 2.01]".

    Returns
    -------
    matplotlib.lines.Line2D
    """
    step_sizes = np.asarray(step_sizes, dtype=float)
    errors = np.asarray(errors, dtype=float)
    if fit is not None:
        lo, hi = fit.interval
        label = f"{label}: slope {fit.order:.2f} [{lo:.2f}, {hi:.2f}]"
    if stderr is not None:
        cont = ax.errorbar(step_sizes, errors, yerr=2 * np.asarray(stderr), fmt=marker + "-",
                           color=color, label=label, capsize=2)
        line = cont.lines[0]
    else:
        (line,) = ax.plot(step_sizes, errors, marker + "-", color=color, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return line


def reference_slope(ax, step_sizes, anchor, order, *, label=None, **kwargs):
    """A dashed reference line C * eta**order through ``(step_sizes[0], anchor)``."""
    step_sizes = np.asarray(step_sizes, dtype=float)
    ys = anchor * (step_sizes / step_sizes[0]) ** order
    kwargs.setdefault("color", COLORS["reference"])
    kwargs.setdefault("linestyle", "--")
    kwargs.setdefault("linewidth", 1.0)
    (line,) = ax.plot(step_sizes, ys, label=label or f"slope {order:g}", **kwargs)
    return line


def default_data_dir() -> pathlib.Path:
    """Where :func:`publish_figure` writes figure data when neither argument nor environment says.

    ``figure-data`` if the working directory has that folder (the book's chapters run in
    ``book/``, whose ``figure-data`` is committed), else ``smecore-figure-data`` in the
    temporary folder: a chapter run from another folder creates nothing there.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     here = os.getcwd()
    ...     os.chdir(tmp)
    ...     try:
    ...         outside = default_data_dir().name
    ...         os.mkdir("figure-data")
    ...         inside = str(default_data_dir())
    ...     finally:
    ...         os.chdir(here)
    >>> outside, inside
    ('smecore-figure-data', 'figure-data')
    """
    import tempfile

    here = pathlib.Path("figure-data")
    if here.is_dir():
        return here
    return pathlib.Path(tempfile.gettempdir()) / "smecore-figure-data"


def publish_figure(name, fig, *, render=True, data_dir=None):
    """Put a chapter's figure into the book with its data, and close it.

    When ``render`` is true the figure is glued under ``name`` (``myst_nb.glue``, for a
    ``{glue:figure}`` directive) and the data behind it is written to
    ``data_dir/name.csv`` (:func:`smecore.book.save_figure_data`), which the figure's
    caption links for download. Quick regression runs pass ``render=False``: they read
    only the verdicts, so the figure is closed unrendered and no file is touched.

    Parameters
    ----------
    name : str
        The glue key, also the data file's stem.
    fig : matplotlib.figure.Figure
    render : bool
        Glue the figure and write its data (publication runs), or only close it.
    data_dir : str or os.PathLike, optional
        Folder of the data files, relative to the notebook's working directory. Default:
        ``$SMECORE_FIGURE_DATA_DIR`` if set (``python -m smecore reproduce`` sets it to its
        output folder, so a rerun never rewrites the book's files); else ``figure-data`` if
        the working directory has that folder (a chapter executed in ``book/`` by
        ``jupyter-book build``, nbval or papermill, whose captions link those files); else
        ``smecore-figure-data`` in the temporary folder (:func:`tempfile.gettempdir`), so that
        a run from any other folder (papermill from the repository root, say) leaves no file
        behind in it. An existing data file that already holds the same numbers up to
        rounding is not rewritten (``smecore.book.figure_data.same_table``): rerunning a
        chapter on another machine changes no committed file.

    Returns
    -------
    None
        Nothing, so that a figure cell ending in this call shows no output of its own.

    Raises
    ------
    ValueError
        If ``name`` is not a plain file stem (letters, digits, ``_`` and ``-``).
    """
    import re

    import matplotlib.pyplot as plt

    try:  # the figure is closed whatever happens: a notebook must not pile up open figures
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ValueError(f"name must be letters, digits, '_' or '-', got {name!r}")
        if render:
            from myst_nb import glue

            if data_dir is None:
                data_dir = os.environ.get("SMECORE_FIGURE_DATA_DIR") or default_data_dir()
            save_figure_data(fig, pathlib.Path(data_dir) / f"{name}.csv")
            glue(name, fig, display=False)
    finally:
        plt.close(fig)
