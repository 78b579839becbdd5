"""Plot helpers for the network chapter: Monte Carlo bands and order plots."""

from __future__ import annotations

import numpy as np


def band(ax, times, estimate, *, color, label, n_se=2.0, **kw):
    """Draw a Monte Carlo mean with a +/- ``n_se`` standard-error band.

    Parameters
    ----------
    ax : matplotlib Axes
    times : array_like, shape (R,)
    estimate : smecore.MCEstimate
        Mean and standard error at ``times``.
    color, label : str
    n_se : float, default 2

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import smecore as sc
    >>> fig, ax = plt.subplots()
    >>> est = sc.MCEstimate(np.array([1.0, 0.5]), np.array([0.0, 0.1]), 10)
    >>> len(band(ax, [0.0, 1.0], est, color="k", label="SGD"))
    2
    >>> plt.close(fig)
    """
    t = np.asarray(times, dtype=float)
    m, s = np.asarray(estimate.mean), np.asarray(estimate.stderr)
    line, = ax.plot(t, m, color=color, label=label, **kw)
    fill = ax.fill_between(t, m - n_se * s, m + n_se * s, color=color, alpha=0.2, linewidth=0)
    return [line, fill]


def curves_figure(runs, styles, metrics=("train_loss", "test_loss", "test_accuracy"),
                  labels=("training loss", "test loss", "test accuracy")):
    """One panel per metric; ``runs`` maps a label to a Trajectories, ``styles`` to a colour.

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(12, 3.8))
    for ax, m, lab in zip(axes, metrics, labels):
        for name, tr in runs.items():
            band(ax, tr.times, tr.estimate(m), color=styles[name], label=name)
        ax.set_xlabel("time $t = k\\eta$")
        ax.set_ylabel(lab)
    axes[-1].legend(fontsize=11, loc="lower right")
    fig.tight_layout()
    return fig
