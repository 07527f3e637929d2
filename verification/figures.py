"""The report's figures as PNG files: bare matplotlib Figures on an Agg canvas (no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .stats import PowerLawFit

_PNG_DPI = 110


def figure(xlabel: str, ylabel: str, title: str | None, logx: bool, logy: bool):
    # A bare Figure with an Agg canvas: no pyplot state, never a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def save(fig, ax, path: str | os.PathLike) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(target, format="png", dpi=_PNG_DPI)
    return target


def loglog_fit_plot(x: Sequence[float], y_by_group: Mapping[str, Sequence[float]], fit: PowerLawFit | None,
                    predicted_slope: float | None, path: str | os.PathLike, xlabel: str = "x",
                    ylabel: str = "y", title: str | None = None) -> Path:
    """Measured points per group (seed) on log–log axes, the fitted power law with its slope CI,
    and a line of the predicted slope through the fit at the geometric mean of x.
    """
    xs = np.asarray(x, dtype=float)
    fig, ax = figure(xlabel, ylabel, title, logx=True, logy=True)
    for label, ys in y_by_group.items():
        ys = np.asarray(ys, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"y_by_group[{label!r}] has shape {ys.shape}, x has {xs.shape}")
        ok = ys > 0
        ax.plot(xs[ok], ys[ok], "o", alpha=0.6, label=str(label))
    grid = np.geomspace(xs.min(), xs.max(), 50)
    if fit is not None:
        ax.plot(grid, fit.predict(grid), "k-",
                label=f"fit slope {fit.slope:.3g} [{fit.ci_low:.3g}, {fit.ci_high:.3g}]")
    if predicted_slope is not None:
        anchor_x = float(np.exp(np.mean(np.log(xs))))
        anchor_y = float(fit.predict(anchor_x)) if fit is not None else float(
            np.exp(np.mean([np.log(v) for ys in y_by_group.values() for v in ys if v > 0])))
        ax.plot(grid, anchor_y * (grid / anchor_x) ** predicted_slope, "r--", label=f"predicted slope {predicted_slope:.3g}")
    return save(fig, ax, path)


def curves_plot(x: Sequence[float], curves: Mapping[str, Sequence[float]],
                markers: Mapping[str, tuple[float, float]] | None, path: str | os.PathLike, xlabel: str = "x", ylabel: str = "y",
                title: str | None = None, logx: bool = False, logy: bool = False,
                symlog: float | None = None) -> Path:
    """Labelled curves over a shared x, plus named marker points (e.g. an early-stopping minimum).

    ``symlog``: a symmetric-log y axis, linear within ±symlog, for signed quantities (a log axis would
    hide the negative values or draw cliffs at them)."""
    xs = np.asarray(x, dtype=float)
    fig, ax = figure(xlabel, ylabel, title, logx, logy and symlog is None)
    if symlog is not None:
        ax.set_yscale("symlog", linthresh=symlog)
        ax.axhline(0.0, color="grey", linewidth=0.5)
    for label, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"curves[{label!r}] has shape {ys.shape}, x has {xs.shape}")
        ax.plot(xs, ys, "-", label=str(label))
    for label, (mx, my) in (markers or {}).items():
        ax.plot([mx], [my], "*", markersize=12, label=str(label))
    return save(fig, ax, path)


def tau_curves_plot(path: str | os.PathLike, n: int, dense_tau: Sequence[float], k1: Sequence[float],
                    thin_tau: Sequence[float], curves: Mapping[str, Sequence[float]], tau_es: float,
                    k_es: float) -> Path:
    """KL against τ (Fig. 3 analogue): K1 on the dense grid, the other KLs on the thin grid, and the
    early-stopping point."""
    fig, ax = figure("training time tau", "KL(p0 || p_theta)", f"n = {n}", logx=True, logy=True)
    ax.plot(dense_tau, k1, "-", label="K1 (score bound)")
    for (name, values), style in zip(curves.items(), ("o-", "s--", "^:")):
        ax.plot(thin_tau, values, style, label=name, markersize=4)
    ax.plot([tau_es], [k_es], "k*", markersize=12, label=f"tau_es = {tau_es:.3g}")
    return save(fig, ax, path)


def density_panels(path: str | os.PathLike, panels: Sequence[tuple[float, Mapping[str, Sequence]]],
                   label: str = "tau = {:.2g}", title: str = "mu = {mu}: reverse-SDE law") -> Path:
    """One panel per µ: p0 (on ``x0``) and the reverse-SDE law at several τ (or epochs: ``label`` formats
    each entry of ``d["tau"]``), each on its own cells ``x`` (the Fokker–Planck grid reaches as far as each
    sampler needs) (Figs. 4-5 analogue); ``title`` is formatted with ``mu`` and the panel's other scalar
    entries (e.g. ``seed``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6))
    for i, (mu, d) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.plot(d["x0"], d["p0"], "k-", lw=2, label="p0")
        for tau, x, q, style in zip(d["tau"], d["x"], d["q"], ("--", "-", ":")):
            ax.plot(x, q, style, label=label.format(tau))
        ax.set_xlim(-mu - 4, mu + 4)
        ax.set_title(title.format(mu=mu, **{k: v for k, v in d.items() if np.isscalar(v)}))
        ax.set_xlabel("x")
        ax.legend(fontsize=7)
    target = Path(path)
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    return target


def tightness_histogram(path: str | os.PathLike, ratios: Mapping[int, np.ndarray]) -> Path:
    """Histogram of log10(calibrated bound / measured) per theorem; the line at 0 is domination."""
    fig, ax = figure("log10(calibrated bound / measured) on held-out draws", "points", None, logx=False, logy=False)
    for theorem, ratio in ratios.items():
        ax.hist(np.log10(ratio), bins=20, alpha=0.6, label=f"Theorem {theorem}")
    ax.axvline(0.0, color="k")
    return save(fig, ax, path)
