"""The data behind a figure: read back exactly from the drawn artists, written as CSV."""

import csv
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from smecore.book.figure_data import CSV_COLUMNS, figure_table, save_figure_data  # noqa: E402
from smecore.book.plotting import order_plot, publish_figure, reference_slope  # noqa: E402


@pytest.fixture
def fig():
    figure = plt.figure()
    yield figure
    plt.close(figure)


def rows_of(fig, kind):
    return [r for r in figure_table(fig) if r["kind"] == kind]


def test_lines_are_read_back_exactly(fig):
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 7)
    ax.plot(x, x**2, label="$x^2$")
    ax.set(title="t", xlabel="$t$", ylabel="$y$")
    rows = rows_of(fig, "line")
    np.testing.assert_array_equal([r["x"] for r in rows], x)
    np.testing.assert_array_equal([r["y"] for r in rows], x**2)
    assert {(r["panel"], r["title"], r["xlabel"], r["ylabel"], r["series"]) for r in rows} == {
        (0, "t", "$t$", "$y$", "$x^2$")}


def test_error_bars_give_their_bounds_and_no_stray_lines(fig):
    ax = fig.add_subplot()
    lrs, err, se = 2.0 ** -np.arange(3, 7), np.array([1.0, 0.5, 0.25, 0.125]), np.full(4, 0.01)
    order_plot(ax, lrs, err, stderr=se, label="SGD")
    reference_slope(ax, lrs, 1.0, 1)
    table = figure_table(fig)
    bars = [r for r in table if r["kind"] == "errorbar"]
    assert [r["series"] for r in bars] == ["SGD"] * 4
    np.testing.assert_allclose([r["y_low"] for r in bars], err - 2 * se, rtol=1e-15)
    np.testing.assert_allclose([r["y_high"] for r in bars], err + 2 * se, rtol=1e-15)
    assert {r["kind"] for r in table} == {"errorbar", "line"}  # caps and bar lines are not rows
    assert [r["series"] for r in table if r["kind"] == "line"] == ["slope 1"] * 4


def test_reference_line_on_axes_whose_limits_are_the_unit_square(fig):
    # There the axes transform equals the data transform numerically; it must not matter.
    fig.add_subplot().axhline(0.3)
    assert [(r["kind"], r["y"]) for r in figure_table(fig)] == [("hline", 0.3)]


def test_horizontal_error_bars(fig):
    ax = fig.add_subplot()
    ax.errorbar([1.0, 2.0], [3.0, 4.0], xerr=[0.1, 0.2], label="e")
    bars = rows_of(fig, "errorbar")
    np.testing.assert_allclose([r["x_low"] for r in bars], [0.9, 1.8])
    assert "y_low" not in bars[0]


def test_reference_lines_and_spans(fig):
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.axhline(0.25, label="level")
    ax.axvline(0.75)
    ax.axvspan(0.1, 0.2, label="fit range")
    ax.axhspan(0.3, 0.4)
    kinds = {r["kind"]: r for r in figure_table(fig)}
    assert kinds["hline"]["y"] == 0.25 and kinds["hline"]["series"] == "level"
    assert kinds["vline"]["x"] == 0.75
    assert (kinds["vspan"]["x_low"], kinds["vspan"]["x_high"]) == (0.1, 0.2)
    assert (kinds["hspan"]["y_low"], kinds["hspan"]["y_high"]) == (0.3, 0.4)


def test_histograms_bars_and_outlines(fig):
    ax1, ax2 = fig.subplots(1, 2)
    data = np.random.default_rng(1).normal(size=500)
    counts, edges, _ = ax1.hist(data, bins=10, label="bars")
    ax2.hist(data, bins=edges, histtype="step", label="step")
    bars = rows_of(fig, "bar")
    np.testing.assert_array_equal([r["y"] for r in bars], counts)
    # matplotlib stores a bar as (left, width), so its right edge is left + width: rounding.
    tol = 4 * np.finfo(float).eps * np.abs(edges).max()
    np.testing.assert_allclose([r["x_low"] for r in bars], edges[:-1], rtol=0, atol=tol)
    np.testing.assert_allclose([r["x_high"] for r in bars], edges[1:], rtol=0, atol=tol)
    outline = rows_of(fig, "outline")
    assert {r["panel"] for r in outline} == {1} and outline[0]["series"] == "step"
    assert set(np.round([r["y"] for r in outline], 12)) == set(np.round(counts, 12)) | {0.0}


def test_bands_and_scatter(fig):
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 5)
    ax.fill_between(x, x, x + 1, label="band")
    ax.scatter([1.0, 2.0], [3.0, 5.0], label="pts")
    band = rows_of(fig, "band")
    assert band[0]["series"] == "band"
    ys = {(r["x"], r["y"]) for r in band}
    assert all((xi, xi) in ys and (xi, xi + 1) in ys for xi in x)
    assert [(r["x"], r["y"]) for r in rows_of(fig, "points")] == [(1.0, 3.0), (2.0, 5.0)]


def test_unlabelled_curves_stay_apart_and_keep_their_colour(fig):
    ax1, ax2 = fig.subplots(1, 2)
    for i in range(3):
        ax1.plot([0, 1], [i, i], color="#D55E00" if i else "#000000")
    ax2.hist([0.1, 0.2, 0.7], bins=[0, 0.5, 1], histtype="step", color="#0072B2")
    ax2.fill_between([0, 1], [0, 0], [1, 1], color="#009E73", alpha=0.3)
    rows = figure_table(fig)
    left = [(r["artist"], r["color"], r["y"]) for r in rows if r["panel"] == 0]
    assert left == [(0, "#000000", 0.0), (0, "#000000", 0.0), (1, "#d55e00", 1.0),
                    (1, "#d55e00", 1.0), (2, "#d55e00", 2.0), (2, "#d55e00", 2.0)]
    right = {(r["kind"], r["artist"], r["color"]) for r in rows if r["panel"] == 1}
    assert right == {("outline", 0, "#0072b2"), ("band", 1, "#009e73")}


def test_unsupported_artists_warn_not_vanish(fig):
    ax = fig.add_subplot()
    ax.imshow(np.eye(3))
    with pytest.warns(UserWarning, match="images"):
        figure_table(fig)


def read_data_file(path):
    """The ``#`` header lines and the table of a figure-data file."""
    lines = path.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    table = list(csv.DictReader(ln for ln in lines if not ln.startswith("#")))
    return header, table


def test_csv_has_the_columns_and_is_byte_stable(fig, tmp_path):
    ax = fig.add_subplot()
    ax.plot([0.1, 1 / 3], [np.pi, np.nan], color="#D55E00", label='a, "quoted" $\\eta$')
    ax.set(title="two\nlines", xlabel="$x$")
    first = save_figure_data(fig, tmp_path / "a" / "fig.csv")
    second = save_figure_data(fig, tmp_path / "fig2.csv")
    assert first.read_bytes() == second.read_bytes()
    header, rows = read_data_file(first)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert 'Read with pandas.read_csv(path, comment="#")' in header[0]
    # labels are JSON strings: quotes, backslashes and newlines survive a round trip
    panel = next(ln for ln in header if ln.startswith("# panel 0:"))
    assert panel == '# panel 0: title="two\\nlines" xlabel="$x$" ylabel=""'
    artist = next(ln for ln in header if ln.startswith("# artist 0.0:"))
    series = artist.split("series=", 1)[1].rsplit(" color=", 1)[0]
    assert json.loads(series) == 'a, "quoted" $\\eta$' and artist.endswith("color=#d55e00")
    assert (rows[0]["panel"], rows[0]["artist"], rows[0]["kind"]) == ("0", "0", "line")
    assert float(rows[0]["y"]) == pytest.approx(np.pi, rel=1e-9)  # 10 significant digits
    assert rows[1]["y"] == "nan" and rows[1]["x_low"] == ""
    assert not any("#" in ln for ln in first.read_text().splitlines() if not ln.startswith("#"))


def test_pandas_reads_the_file_as_documented(fig, tmp_path):
    pd = pytest.importorskip("pandas")
    ax1, ax2 = fig.subplots(1, 2)
    order_plot(ax1, [0.5, 0.25], [1.0, 0.5], stderr=[0.1, 0.05], color="#0072B2", label="SGD")
    ax2.axhline(0.3, color="#000000")
    frame = pd.read_csv(save_figure_data(fig, tmp_path / "fig.csv"), comment="#")
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert list(frame["kind"]) == ["errorbar", "errorbar", "hline"]
    np.testing.assert_allclose(frame["y_high"][:2], [1.2, 0.6])


def test_bad_input(fig, tmp_path):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        figure_table("not a figure")
    with pytest.raises(ValueError, match="shows no data"):
        save_figure_data(fig, tmp_path / "empty.csv")
    fig.add_subplot().plot([1], [1])
    with pytest.raises(ValueError, match="must end in .csv"):
        save_figure_data(fig, tmp_path / "fig.npz")


def test_publish_figure_quick_runs_touch_nothing(tmp_path):
    figure = plt.figure()
    figure.add_subplot().plot([1, 2], [1, 2])
    assert publish_figure("fig_x", figure, render=False, data_dir=tmp_path) is None
    assert not plt.fignum_exists(figure.number) and not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="name must be"):
        publish_figure("../escape", plt.figure(), render=False)
    assert not plt.get_fignums()


def test_publish_figure_writes_the_data_and_returns_nothing(tmp_path, capsys):
    figure = plt.figure()
    figure.add_subplot().plot([1, 2], [3, 4], color="#000000", label="c")
    # None: a notebook cell ending in this call must not show a path repr
    assert publish_figure("fig_y", figure, data_dir=tmp_path) is None
    assert (tmp_path / "fig_y.csv").read_text().endswith("0,0,line,2,4,,,,\n")
    assert not plt.fignum_exists(figure.number)
