"""Book support: verdicts, plotting style, the data behind figures, and the
``reproduce`` command.
"""

from .verdicts import METHODS, KINDS, ROUNDING_FLOOR, Verdict, Verdicts
from .plotting import (
    PALETTE,
    COLORS,
    STYLE,
    use_style,
    order_plot,
    reference_slope,
    publish_figure,
)
from .figure_data import COLUMNS, CSV_COLUMNS, figure_table, save_figure_data
from . import chapters
from . import report
from . import reproduce

__all__ = [
    "METHODS",
    "KINDS",
    "ROUNDING_FLOOR",
    "Verdict",
    "Verdicts",
    "PALETTE",
    "COLORS",
    "STYLE",
    "use_style",
    "order_plot",
    "reference_slope",
    "publish_figure",
    "COLUMNS",
    "CSV_COLUMNS",
    "figure_table",
    "save_figure_data",
    "chapters",
    "report",
    "reproduce",
]
