"""The report's figures as PNG files: bare matplotlib Figures on an Agg canvas (no pyplot state), drawn under the
conventions of :mod:`verification.figures.style` (colours per quantity, units, bands over seeds)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..statistics.stats import PowerLawFit
from .bands import band_stats, draw_band, legend, seed_matrix
from .style import COLORS, PREDICTION_STYLE, UNITS, color, label, log_scale, ordered_colors

__all__ = ["PNG_DPI", "Series", "band_plot", "density_panels", "figure", "loglog_fit_plot", "save",
           "tau_curves_plot", "tightness_histogram", "write_png"]

PNG_DPI = 110
"""Dots per inch of every PNG (a 6 x 4 inch figure is 660 x 440 pixels)."""


def _canvas(size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _with_unit(name: str, text: str) -> str:
    if not any(text.endswith(f"({u})") for u in UNITS.values()):
        raise ValueError(f"{name} must end with its unit in parentheses, one of {sorted(UNITS.values())} "
                         f"(verification.figures.label writes it), got {text!r}")
    return text


def figure(xlabel: str, ylabel: str, title: str | None, logx: bool, logy: bool, size=(6.0, 4.0)):
    """A bare Figure with an Agg canvas and one Axes (no pyplot state, never a display); ``xlabel`` and
    ``ylabel`` must end with their unit (:func:`~verification.figures.style.label`)."""
    fig = _canvas(size)
    ax = fig.add_subplot()
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(_with_unit("xlabel", xlabel))
    ax.set_ylabel(_with_unit("ylabel", ylabel))
    if title:
        ax.set_title(title, fontsize="medium")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    return fig, ax


def _readable_log_ticks(ax, x: np.ndarray | None = None) -> None:
    """Plain numbers on log axes where they fit ("0.3", "64" rather than 3x10^-1): the measured x as the x
    ticks when there are at most 8 of them within 3 decades; minor ticks labelled on an axis shorter than 1.5
    decades (2, 3, 5; 2, 3, 4, 6, 8 below 0.8 decades)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    def minor_at(mantissas):
        return FuncFormatter(lambda v, _: f"{v:g}" if round(v / 10 ** np.floor(np.log10(v) + 1e-9)) in mantissas
                             else "")

    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log" or not 0 < lo < hi:
            continue
        if axis is ax.xaxis and x is not None and x.size <= 8 and x.max() / x.min() <= 1e3:
            ax.set_xticks(x)
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
            continue
        if 1e-3 <= lo and hi <= 1e4:
            axis.set_major_formatter(plain)
        span = np.log10(hi / lo)
        axis.set_minor_formatter(minor_at((2, 3, 4, 6, 8)) if span < 0.8 else minor_at((2, 3, 5)) if span < 1.5
                                 else NullFormatter())


def _headroom(ax, fraction: float = 0.22) -> None:
    """Raise the top of the y axis by ``fraction`` of its span (of its log span on a log axis): room for the
    legend above the data."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log" and lo > 0:
        ax.set_ylim(lo, hi * (hi / lo) ** fraction)
    elif ax.get_yscale() == "linear":
        ax.set_ylim(lo, hi + fraction * (hi - lo))


def _symlog(ax, linthresh: float) -> None:
    """A symmetric-log y axis, linear within ±``linthresh``, with a line at 0 and no labels on the linear part
    but 0 (they would print over it)."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation

    ax.set_yscale("symlog", linthresh=linthresh)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    sci = LogFormatterSciNotation()

    def fmt(v, pos):
        if v == 0:
            return "0"
        if abs(v) <= linthresh * (1 + 1e-9):
            return ""
        text = sci(abs(v), pos)
        return f"\N{MINUS SIGN}{text}" if v < 0 and text else text

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def save(fig, ax, path: str | os.PathLike, x: Sequence[float] | None = None, **legend_kwargs) -> Path:
    """The figure as a PNG at ``path`` (parents created), with the legend of ``ax`` if it has labelled artists
    and readable log ticks (the measured ``x`` as x ticks where there are few)."""
    legend(ax, **legend_kwargs)
    _readable_log_ticks(ax, None if x is None else np.unique(np.asarray(x, dtype=float)))
    return write_png(fig, path)


def write_png(fig, path: str | os.PathLike) -> Path:
    """Lay out ``fig`` and write it as a PNG at ``path`` (parents created): every figure function ends here."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(target, format="png", dpi=PNG_DPI)
    return target


@dataclass(frozen=True)
class Series:
    """One quantity over seeds for :func:`band_plot`.

    Attributes
    ----------
    name : str
        Its legend name (with the band's description, or under it as the legend's title when every series of
        the figure has the same band).
    samples : array (seeds x points)
        One row per seed, NaN where a seed has no value.
    color : str or tuple
        Its colour (:data:`~verification.figures.style.COLORS` for a quantity, :func:`ordered_colors` for
        conditions).
    kind : str
        The band: "t" or "minmax" (:data:`~verification.figures.style.BANDS`).
    seeds : str or None
        "lines", "points" or None: how the individual seeds are drawn (faint, no legend entry).
    linestyle, marker : str
        How the mean line is drawn (a marker where curves may coincide).
    """

    name: str
    samples: np.ndarray
    color: str | tuple
    kind: str = "t"
    seeds: str | None = "lines"
    linestyle: str = "-"
    marker: str | None = None


def band_plot(x: Sequence[float], series: Sequence[Series], path: str | os.PathLike, xlabel: str, ylabel: str,
              title: str | None = None, logx: bool | None = None, logy: bool | None = None,
              symlog: float | None = None, references: Mapping[str, Sequence[float]] | None = None,
              legend_outside: bool = False) -> Path:
    """Seed means with their bands over a shared x, each seed faint; closed-form ``references`` dashed grey.

    ``logx``/``logy`` None: a log axis when the positive values span more than two decades
    (:func:`~verification.figures.style.log_scale`). ``symlog``: a symmetric-log y axis, linear within
    ±symlog, for signed quantities (a log axis would hide the negative values). A "t" band on a log y axis is
    the geometric mean's interval (:func:`~verification.figures.bands.band_stats`). ``legend_outside``: the
    legend right of the axes (for many series), the figure widened to hold it.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from verification.figures import Series, band_plot, color, label
    >>> seeds = np.array([[1.0, 0.5, 0.2], [1.2, 0.4, 0.3], [0.9, 0.6, 0.25]])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "k1.png"
    >>> band_plot([16, 32, 64], [Series("K1", seeds, color("K1"))], out, label("n"), label("kl")).exists()
    True
    """
    xs = np.asarray(x, dtype=float)
    for s in series:
        if np.shape(s.samples)[-1] != xs.size or np.ndim(s.samples) != 2:
            raise ValueError(f"series {s.name!r} has shape {np.shape(s.samples)}, x has {xs.size} points")
    values = np.concatenate([np.ravel(s.samples) for s in series] + [np.ravel(v) for v in (references or {}).values()])
    logx = log_scale(xs) if logx is None else logx
    logy = (symlog is None and log_scale(values)) if logy is None else (logy and symlog is None)
    fig, ax = figure(xlabel, ylabel, title, logx, logy, size=(7.8, 4.0) if legend_outside else (6.0, 4.0))
    if symlog is not None:
        _symlog(ax, symlog)
    bands = {band_stats(s.samples, s.kind, logy).describe() for s in series}
    shared = len(series) > 1 and len(bands) == 1
    for s in series:
        draw_band(ax, xs, s.samples, color=s.color, name=s.name, kind=s.kind, log=logy, seeds=s.seeds,
                  linestyle=s.linestyle, text=s.name if shared else None, marker=s.marker,
                  band_alpha=0.2 if len(series) <= 2 else 0.13)
    for name, ys in (references or {}).items():
        ax.plot(xs, np.asarray(ys, dtype=float), label=name, **PREDICTION_STYLE)
    if not legend_outside:
        _headroom(ax)
    where = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)} if legend_outside else {}
    return save(fig, ax, path, xs, title=bands.pop() if shared else None, title_fontsize="small", **where)


def loglog_fit_plot(x: Sequence[float], y: Sequence[float], fit: PowerLawFit | None, predicted_slope: float | None,
                    path: str | os.PathLike, xlabel: str, ylabel: str, title: str | None = None, *, quantity: str,
                    name: str | None = None) -> Path:
    """A rate on log-log axes: each seed's point faint, the geometric mean per x with its 95% t interval as error
    bars, the fitted power law (slope and its CI) in the quantity's colour, and the predicted slope (dashed
    grey) through the fit at the geometric mean of x. ``x`` repeats once per seed; points with y <= 0 are not
    drawn.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from verification.figures import label, loglog_fit_plot
    >>> n = np.repeat([16.0, 32.0, 64.0], 3)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rate.png"
    >>> loglog_fit_plot(n, n**-0.5, None, -0.4, out, label("n"), label("kl"), quantity="K1").exists()
    True
    """
    xv, yv = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xv.shape != yv.shape:
        raise ValueError(f"y has shape {yv.shape}, x has {xv.shape}")
    c = color(quantity)
    fig, ax = figure(xlabel, ylabel, title, logx=True, logy=True)
    xs, matrix = seed_matrix(xv, yv)
    draw_band(ax, xs, matrix, color=c, name=name or quantity, kind="t", log=True, seeds="points", errorbars=True)
    grid = np.geomspace(xs.min(), xs.max(), 50)
    if fit is not None:
        ax.plot(grid, fit.predict(grid), "-", color=c, linewidth=1.5,
                label=f"fit: slope {fit.slope:.3g}, {fit.ci:.0%} CI [{fit.ci_low:.3g}, {fit.ci_high:.3g}]")
    if predicted_slope is not None:
        anchor_x = float(np.exp(np.mean(np.log(xs))))
        anchor_y = float(fit.predict(anchor_x)) if fit is not None else float(np.exp(np.mean(np.log(yv[yv > 0]))))
        ax.plot(grid, anchor_y * (grid / anchor_x) ** predicted_slope, label=f"predicted slope {predicted_slope:.3g}",
                **PREDICTION_STYLE)
    _headroom(ax, 0.3)
    return save(fig, ax, path, xs)


def tau_curves_plot(path: str | os.PathLike, n: int, dense_tau: Sequence[float], k1: Sequence[float],
                    thin_tau: Sequence[float], curves: Mapping[str, Sequence[float]], tau_es: float, k_es: float,
                    seed: int | None = None) -> Path:
    """KL against τ for one seed (Fig. 3 analogue): K1 on the dense grid, the other KLs (keys of ``curves``:
    K2, K3, K4) on the thin grid, each in its colour, and the early-stopping point in τ_es's colour."""
    title = f"n = {n}" + (f", seed {seed}" if seed is not None else "")
    fig, ax = figure(label("tau"), label("kl", "KL(p0 || p_theta)"), title, logx=True, logy=True)
    ax.plot(dense_tau, k1, "-", color=color("K1"), label="K1 (score bound)")
    for (name, values), marker in zip(curves.items(), ("o", "s", "^")):
        ax.plot(thin_tau, values, "-", marker=marker, color=color(name), label=name, markersize=4, linewidth=1.2)
    ax.plot([tau_es], [k_es], "*", color=color("tau_es"), markersize=13, label=f"tau_es = {tau_es:.3g} (K1 minimum)")
    return save(fig, ax, path)


def density_panels(path: str | os.PathLike, panels: Sequence[tuple[float, Mapping[str, Sequence]]],
                   label_format: str = "tau = {:.2g}", title: str = "mu = {mu}: reverse-SDE law") -> Path:
    """One panel per µ: p0 (on ``x0``, black) and the reverse-SDE law at several τ (or epochs: ``label_format``
    formats each entry of ``d["tau"]``, early to late dark to light), each on its own cells ``x`` (the
    Fokker–Planck grid reaches as far as each sampler needs) (Figs. 4-5 analogue); ``title`` is formatted with
    ``mu`` and the panel's other scalar entries (e.g. ``seed``)."""
    fig = _canvas((9.0, 3.6))
    for i, (mu, d) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.plot(d["x0"], d["p0"], "-", color=COLORS["p0"], lw=2, label="p0")
        for tau, x, q, col, style in zip(d["tau"], d["x"], d["q"], ordered_colors(len(d["tau"])), ("--", "-", ":")):
            ax.plot(x, q, style, color=col, label=label_format.format(tau))
        ax.set_xlim(-mu - 4, mu + 4)
        ax.set_title(title.format(mu=mu, **{k: v for k, v in d.items() if np.isscalar(v)}), fontsize="medium")
        ax.set_xlabel(label("x"))
        ax.set_ylabel(label("density"))
        ax.grid(True, alpha=0.3)
        _headroom(ax, 0.25)
        ax.legend(fontsize=7, loc="upper center")
    return write_png(fig, path)


def tightness_histogram(path: str | os.PathLike, ratios: Mapping[int, np.ndarray]) -> Path:
    """Histogram of log10(calibrated bound / measured) per theorem; the line at 0 is domination."""
    fig, ax = figure(label("decades", "log10(calibrated bound / measured), held-out draws"),
                     label("count", "held-out points"), None, logx=False, logy=False)
    from matplotlib.ticker import MaxNLocator

    for (theorem, ratio), col in zip(sorted(ratios.items()), ordered_colors(max(len(ratios), 1))):
        ax.hist(np.log10(ratio), bins=20, alpha=0.6, color=col, label=f"Theorem {theorem}")
    ax.axvline(0.0, color="k")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _headroom(ax, 0.2)
    return save(fig, ax, path)
