"""Seed means with a band over seeds: the statistics (:func:`band_stats`, a pure function) and their drawing
(:func:`draw_band`: the mean line, the band, each seed faint), under the conventions of
:mod:`verification.figures.style`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..statistics.stats import t_interval
from .style import BANDS, FAINT_ALPHA

__all__ = ["Band", "band_stats", "draw_band", "legend", "seed_matrix"]


@dataclass(frozen=True)
class Band:
    """The seed mean and its band at each x.

    Attributes
    ----------
    mean, low, high : ndarray
        The centre line and the band's edges (NaN edges where fewer than 2 seeds have a value).
    kind : str
        "t" or "minmax" (:data:`verification.figures.style.BANDS`).
    log : bool
        True when the t interval was taken of log values (``mean`` is then the geometric mean).
    counts : ndarray of int
        How many seeds have a value at each x.
    """

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    kind: str
    log: bool
    counts: np.ndarray

    def describe(self) -> str:
        """The legend's words for this band, e.g. "geometric mean, 95% t CI over 3 seeds"."""
        centre = "geometric mean" if self.log else "seed mean"
        k = int(self.counts.max()) if self.counts.size else 0
        return f"{centre}, {BANDS[self.kind]} over {k} seeds"


def band_stats(samples: Sequence[Sequence[float]] | np.ndarray, kind: str = "t", log: bool = False,
               ci: float = 0.95) -> Band:
    """The seed mean and band of ``samples`` (seeds x points; NaN where a seed has no value) at each point.

    ``kind="t"``: Student's t interval of the mean at level ``ci`` (:func:`verification.statistics.stats.t_interval`);
    with ``log`` of the log values, exponentiated (geometric mean; values <= 0, which a log axis cannot show,
    are left out). ``kind="minmax"``: the arithmetic mean and the range over seeds (``log`` is ignored).

    Examples
    --------
    >>> from verification.figures.bands import band_stats
    >>> b = band_stats([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]], kind="minmax")
    >>> b.mean.tolist(), b.low.tolist(), b.high.tolist()
    ([2.0, 20.0], [1.0, 10.0], [3.0, 30.0])
    >>> [round(float(v), 3) for v in band_stats([[1.0], [2.0], [3.0]]).high]
    [4.484]
    """
    if kind not in BANDS:
        raise ValueError(f"kind must be one of {sorted(BANDS)}, got {kind!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    x = np.asarray(samples, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"samples must be a 2-D array (seeds x points) with at least one seed, got shape {x.shape}")
    use_log = log and kind == "t"
    mean, low, high = (np.full(x.shape[1], np.nan) for _ in range(3))
    counts = np.zeros(x.shape[1], dtype=int)
    for j in range(x.shape[1]):
        col = x[:, j][np.isfinite(x[:, j])]
        if use_log:
            col = np.log(col[col > 0])
        counts[j] = col.size
        if col.size == 0:
            continue
        if kind == "minmax":
            mean[j], low[j], high[j] = col.mean(), col.min(), col.max()
        elif col.size >= 2:
            mean[j], low[j], high[j] = t_interval(col, ci)
        else:
            mean[j] = col[0]
    if use_log:
        mean, low, high = np.exp(mean), np.exp(low), np.exp(high)
    return Band(mean, low, high, kind, use_log, counts)


def seed_matrix(x: Sequence[float], y: Sequence[float], seeds: Sequence | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, y) of several seeds as (the sorted distinct x, a seeds x len(distinct x) matrix, NaN where a
    seed has no point). Without ``seeds`` the k-th value at each x fills row k.

    Examples
    --------
    >>> from verification.figures.bands import seed_matrix
    >>> xs, m = seed_matrix([2, 1, 2, 1], [0.2, 0.1, 0.3, 0.4], seeds=[0, 0, 1, 1])
    >>> xs.tolist(), m.tolist()
    ([1.0, 2.0], [[0.1, 0.2], [0.4, 0.3]])
    """
    xv, yv = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xv.shape != yv.shape or xv.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got shapes {xv.shape} and {yv.shape}")
    if seeds is not None and len(seeds) != xv.size:
        raise ValueError(f"seeds must have one entry per point ({xv.size}), got {len(seeds)}")
    xs = np.unique(xv)
    col = np.searchsorted(xs, xv)
    if seeds is None:
        row = np.array([int(np.sum(col[:i] == col[i])) for i in range(xv.size)], dtype=int)
    else:
        labels = list(dict.fromkeys(seeds))
        row = np.array([labels.index(s) for s in seeds], dtype=int)
    out = np.full((int(row.max()) + 1 if row.size else 0, xs.size), np.nan)
    out[row, col] = yv
    return xs, out


def draw_band(ax, x: Sequence[float], samples: Sequence[Sequence[float]] | np.ndarray, *, color, name: str,
              kind: str = "t", log: bool = False, seeds: str | None = "lines", linestyle: str = "-",
              errorbars: bool = False, text: str | None = None, marker: str | None = None,
              band_alpha: float = 0.2) -> Band:
    """Draw ``samples`` (seeds x len(x)) on ``ax``: the seed mean, its band (:func:`band_stats`) and each seed.

    ``seeds``: "lines" (thin faint lines), "points" (faint dots) or None; individual seeds get no legend entry.
    ``errorbars``: the mean as markers with the band as error bars (for a few x, as in a rate figure) instead of
    a line over a shaded band of opacity ``band_alpha``; ``marker`` marks the mean line at each x. The legend entry ``text`` defaults to the name, the centre and the band.
    """
    xs = np.asarray(x, dtype=float)
    band = band_stats(samples, kind, log)
    values = np.asarray(samples, dtype=float)
    if values.shape[1] != xs.size:
        raise ValueError(f"samples has {values.shape[1]} points per seed, x has {xs.size}")
    if seeds not in ("lines", "points", None):
        raise ValueError(f"seeds must be 'lines', 'points' or None, got {seeds!r}")
    for row in values if seeds else ():
        ok = np.isfinite(row) & ((row > 0) if log else True)
        style = {"linestyle": linestyle, "linewidth": 0.8} if seeds == "lines" else {"linestyle": "none",
                                                                                     "marker": "o", "markersize": 3}
        ax.plot(xs[ok], row[ok], color=color, alpha=FAINT_ALPHA, label="_nolegend_", **style)
    text = f"{name}: {band.describe()}" if text is None else text
    ok = np.isfinite(band.mean)
    if errorbars:
        edges = np.isfinite(band.low)
        yerr = np.where(edges, [band.mean - band.low, band.high - band.mean], 0.0)[:, ok]
        ax.errorbar(xs[ok], band.mean[ok], yerr=yerr, fmt="o", color=color, capsize=3, markersize=5, label=text)
        return band
    gid = f"band-{id(band)}"
    patch = ax.fill_between(xs, band.low, band.high, where=np.isfinite(band.low), color=color, alpha=band_alpha,
                            linewidth=0, label="_nolegend_")
    patch.set_gid(gid)
    (line,) = ax.plot(xs[ok], band.mean[ok], color=color, linestyle=linestyle, linewidth=2.0, marker=marker,
                      label=text)
    line.set_gid(gid)
    return band


def legend(ax, **kwargs) -> None:
    """The axes' legend, where a mean line drawn by :func:`draw_band` shows over its band's colour."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    patches = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    gid = [getattr(h, "get_gid", lambda: None)() for h in handles]
    handles = [(patches[g], h) if g in patches else h for g, h in zip(gid, handles)]
    ax.legend(handles, labels, **{"fontsize": "small", **kwargs})
