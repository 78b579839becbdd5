"""Figures of the control chapter (book/control.ipynb): sweeps, controls, the quadratic."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

#: The book's colour-blind-safe palette (``smecore.book.plotting.PALETTE``; the book layer
#: ranks above networks, so it is restated here, not imported).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

__all__ = ["METHOD_LABELS", "METHOD_COLORS", "sweep_figure", "controls_figure", "quadratic_figure"]

#: Legend labels of the methods of :func:`smecore.networks.train_controlled`.
METHOD_LABELS = {"sgd": "constant SGD", "inverse_time": "SGD, tuned 1/t", "adagrad": "Adagrad",
                 "adam": "Adam", "csgd": "cSGD", "cmsgd": "cMSGD"}
#: Their colours (colour-blind safe palette of the book).
METHOD_COLORS = {"sgd": "#000000", "inverse_time": PALETTE[5], "adagrad": PALETTE[4],
                 "adam": PALETTE[3], "csgd": PALETTE[0], "cmsgd": PALETTE[1]}


def sweep_figure(lrs, finals, metrics=("train_loss", "test_loss", "test_accuracy"),
                 titles=("final training loss", "final test loss", "final test accuracy")):
    """Final metrics against the initial learning rate, mean over seeds with 2 s.e. bars.

    ``finals[method][metric]`` has shape (L, S): one row per rate of ``lrs``.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(13, 3.8))
    for ax, metric, title in zip(axes, metrics, titles):
        for method, vals in finals.items():
            v = np.asarray(vals[metric])
            se = v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])
            ax.errorbar(lrs, v.mean(axis=1), yerr=2 * se, marker="o", ms=4, capsize=2,
                        color=METHOD_COLORS[method], label=METHOD_LABELS[method])
        ax.set_xscale("log")
        if metric != "test_accuracy":
            ax.set_yscale("log")
        ax.set_xlabel(r"initial learning rate $\eta_0$")
        ax.set_title(title)
    axes[0].legend(fontsize=11)
    fig.tight_layout()
    return fig


def controls_figure(steps, lrs, rates, momenta):
    """What the controllers do: per-coordinate rates (median) and cMSGD's momentum.

    ``rates[method]`` and ``momenta`` have shape (R + 1, L): the seed-mean of the median
    over coordinates, one column per initial rate of ``lrs``.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    shades = np.linspace(0.35, 1.0, len(lrs))
    for ax, method in zip(axes[:2], ("csgd", "cmsgd")):
        for j, lr in enumerate(lrs):
            ax.plot(steps[1:], rates[method][1:, j], color=METHOD_COLORS[method], alpha=shades[j],
                    label=rf"$\eta_0 = {lr:.3g}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step $k$")
    axes[0].set_title(r"cSGD: $\eta_{\max}\,u$ (median)")
    axes[1].set_title(r"cMSGD: $\eta/(1-\mu)$ (median)")
    for j, lr in enumerate(lrs):
        axes[2].plot(steps[1:], 1 - momenta[1:, j], color=METHOD_COLORS["cmsgd"], alpha=shades[j],
                     label=rf"$\eta_0 = {lr:.3g}$")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step $k$")
    axes[2].set_title(r"cMSGD: $1 - \mu$ (median)")
    axes[0].legend(fontsize=11)
    fig.tight_layout()
    return fig


def _thin(path):
    """Step indices 1..len(path)-1, log-spaced (about 300): a path on a log axis, lighter data."""
    return np.unique(np.geomspace(1, path.size - 1, 300).round().astype(int))


def _moment_panel(ax, out, name, title):
    run = out["run"]
    sq = run["sq"][:, :, 0]
    se = sq.std(axis=1, ddof=1) / np.sqrt(sq.shape[1])
    k = run["steps"]
    shown = np.unique(np.geomspace(1, k.size - 1, 24).round().astype(int))  # log-spaced records
    ax.errorbar(k[shown], sq.mean(axis=1)[shown], yerr=2 * se[shown], fmt="o", ms=4, capsize=2,
                color=METHOD_COLORS[name], label=f"online {METHOD_LABELS[name]}, 2 s.e.")
    path = out["m_plugin_path"]
    ax.plot(_thin(path), path[_thin(path)], color="#7f7f7f", label="plug-in oracle (same law)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$\mathbb{E}(x_k - b)^2$")
    ax.set_title(title)


def quadratic_figure(csgd, cmsgd, m_opt, active, m_noise_path, u_noise_path, titles):
    """E(x - b)^2 of the online controllers against their plug-in oracles and the optimal control.

    ``csgd``, ``active`` (cSGD with a eta_max > 1) and ``cmsgd`` are
    :func:`smecore.algorithms.compare_with_plugin` outputs; ``m_opt`` is the optimal-control
    path of cSGD at every step; ``m_noise_path``, ``u_noise_path`` the plug-in paths of the
    active case under the noise reading of Sigma; ``titles`` the three moment panels' titles.
    Panels: cSGD (a eta_max <= 1), cSGD (a eta_max > 1), its multiplier u, cMSGD.
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.6))
    (ax0, ax1), (ax2, ax3) = axes
    for ax, out, name, title in ((ax0, csgd, "csgd", titles[0]), (ax1, active, "csgd", titles[1]),
                                 (ax3, cmsgd, "cmsgd", titles[2])):
        _moment_panel(ax, out, name, title)
    ax0.plot(_thin(m_opt), m_opt[_thin(m_opt)], color=PALETTE[2], ls="--",
             label="optimal control (dynamics chapter)")
    ax1.plot(_thin(m_noise_path), m_noise_path[_thin(m_noise_path)], color="#7f7f7f", ls=":",
             label=r"plug-in, noise reading of $\Sigma$")
    run = active["run"]
    u = run["c"][:, :, 0]
    ax2.plot(run["steps"][1:], u.mean(axis=1)[1:], color=METHOD_COLORS["csgd"], lw=2,
             label="online cSGD, mean over runs")
    cp = active["c_plugin_path"]
    ax2.plot(_thin(cp), cp[_thin(cp)], color="#7f7f7f", label="plug-in oracle (same law)")
    ax2.plot(_thin(u_noise_path), u_noise_path[_thin(u_noise_path)], color="#7f7f7f", ls=":",
             label=r"plug-in, noise reading of $\Sigma$")
    ax2.set_xscale("log")
    ax2.set_ylim(0, 1.05)
    ax2.set_xlabel("step $k$")
    ax2.set_ylabel("multiplier $u_k$")
    ax2.set_title(titles[1].replace("cSGD", "cSGD's multiplier"))
    for ax in axes.flat:
        ax.legend(fontsize=11)
    fig.tight_layout()
    return fig
