"""The report's figure conventions: one colour per quantity, axis labels with units, and the band over seeds.

Colours
    Every quantity has one colour in every figure (:data:`COLORS`, the Okabe–Ito colour-blind-safe palette
    for the KLs): K1 blue, K2 vermillion, K3 green, K4 purple, the authors' grid metric orange, I1 sky blue,
    I3 brown, τ_es indigo, p0 black. Predictions and bounds (a predicted slope, a closed-form reference) are
    grey and dashed; a fitted power law is drawn in its quantity's colour. Several curves of one quantity
    under ordered conditions (n = 16, 32, ...; c = 1 ... 1e6; the nearest and farthest MNIST pair) take the
    colours of :func:`ordered_colors` (viridis, dark to light in the condition's order).

Units
    Every axis label ends with its unit in parentheses, one of :data:`UNITS`; :func:`label` writes them.
    τ is the θ-flow time of (9)-(10) everywhere (docs/theory.md §3.1).

Bands (docs/theory.md §8)
    A figure that summarises seeds draws the seed mean as a line, the band around it, and each seed as a
    thin faint line (or faint points) without a legend entry. Two bands, each named in the legend:

    - ``"t"``: the 95% Student t interval of the seed mean (:func:`verification.statistics.stats.t_interval`), for
      summaries at fixed x (rates in n, sweeps over m, µ, d, c). On a log axis it is taken of the log values
      (the geometric mean and exp of its interval), the scale on which the rates are fitted.
    - ``"minmax"``: the range over seeds around the arithmetic seed mean, for curves over training time
      (epochs, τ), where the spread of the runs is the point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BANDS", "COLORS", "FAINT_ALPHA", "LABELS", "PREDICTION_STYLE", "UNITS", "color", "label", "log_scale",
           "ordered_colors"]

COLORS: dict[str, str] = {
    "K1": "#0072B2",
    "K2": "#D55E00",
    "K3": "#009E73",
    "K4": "#CC79A7",
    "grid_kl": "#E69F00",
    "I1": "#56B4E9",
    "I3": "#8C510A",
    "tau_es": "#332288",
    "p0": "#000000",
    "train_loss": "#999933",
    "test_loss": "#882255",
    "prediction": "#7F7F7F",
}
"""The colour of each quantity, the same in every figure ("prediction": bounds, predicted slopes, references)."""

PREDICTION_STYLE: dict = {"color": COLORS["prediction"], "linestyle": "--", "linewidth": 1.5}
"""How a prediction, a bound or a closed-form reference line is drawn."""

FAINT_ALPHA = 0.25
"""The opacity of the individual seeds under a seed mean."""

BANDS: dict[str, str] = {"t": "95% t CI", "minmax": "min-max"}
"""The two bands over seeds and how the legend names them (module docstring)."""

UNITS: dict[str, str] = {
    "kl": "nats",
    "tau": "theta-time, flows (9)-(10)",
    "epoch": "passes over the training set",
    "m": "random features",
    "n": "training points",
    "d": "dimensions",
    "x": "data units",
    "density": "per data unit",
    "loss7": "units of loss (7)",
    "loss5": "units of loss (5)",
    "nll": "nats per PCA dim",
    "decades": "decades",
    "count": "count",
    "share": "fraction of 1",
}
"""The unit of every axis, by kind; an axis label ends with one of these in parentheses."""

LABELS: dict[str, str] = {
    "kl": "KL",
    "tau": "training time tau",
    "tau_es": "tau_es",
    "epoch": "epoch",
    "m": "m",
    "n": "n",
    "d": "d",
    "mu": "mode offset mu",
    "x": "x",
    "density": "density",
}
"""The default name of each axis kind (the text before the unit)."""

_UNIT_OF = {"tau_es": "tau", "mu": "x"}


def label(kind: str, name: str | None = None) -> str:
    """An axis label: ``name`` (default the kind's own name) followed by the kind's unit in parentheses.

    Examples
    --------
    >>> from verification.figures.style import label
    >>> label("kl")
    'KL (nats)'
    >>> label("kl", "early-stopped K1")
    'early-stopped K1 (nats)'
    >>> label("tau")
    'training time tau (theta-time, flows (9)-(10))'
    """
    unit = UNITS.get(_UNIT_OF.get(kind, kind))
    if unit is None:
        raise ValueError(f"kind must be one of {sorted(set(UNITS) | set(_UNIT_OF))}, got {kind!r}")
    text = name if name is not None else LABELS.get(kind, kind)
    return f"{text} ({unit})"


def color(quantity: str) -> str:
    """The colour of ``quantity`` (a key of :data:`COLORS`).

    Examples
    --------
    >>> from verification.figures.style import color
    >>> color("K2")
    '#D55E00'
    """
    if quantity not in COLORS:
        raise ValueError(f"quantity must be one of {sorted(COLORS)}, got {quantity!r}")
    return COLORS[quantity]


def ordered_colors(k: int) -> list[tuple[float, float, float, float]]:
    """``k`` colours for ordered conditions of one quantity, dark to light (viridis on [0, 0.85]).

    Examples
    --------
    >>> from verification.figures.style import ordered_colors
    >>> len(ordered_colors(4))
    4
    """
    from matplotlib import colormaps

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return [colormaps["viridis"](v) for v in np.linspace(0.0, 0.85, k)]


def log_scale(values: Sequence[float] | np.ndarray, decades: float = 2.0) -> bool:
    """Whether an axis of ``values`` wants a log scale: every finite value positive and max/min > 10^decades.

    Examples
    --------
    >>> from verification.figures.style import log_scale
    >>> log_scale([1e-3, 1.0, 10.0]), log_scale([2.0, 5.0, 9.0]), log_scale([-1.0, 1e3])
    (True, False, False)
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0 or np.any(v <= 0):
        return False
    return bool(np.log10(v.max() / v.min()) > decades)
