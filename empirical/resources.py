"""What one measurement will hold in memory, estimated before anything is allocated, and the guard.

:func:`empirical.measure.measure` calls :func:`check_resources` first: a run whose estimate exceeds
the cap (``max_memory`` GiB, default :data:`DEFAULT_MAX_MEMORY_GIB`; ``diffgen measure --max-memory``)
is refused with a ``ValueError`` naming n, m and the cap, as is a target whose own x-quadrature would
need more panels than it allows (the bumps at large µ or small T). The cap is a fixed number, not the
host's free memory, so the same configuration is accepted or refused on every machine.

The estimate, in float64 words (8 bytes), with m features, M = m·m_ref_factor features of the nested
model (0 when m_ref_factor = 0), L = 2 weightings of the population loss (1 with λ = 'g2'), W = 2
coefficient threads (:data:`empirical.rf.coefficients._WORKERS`) and P = 2·W·max(min(n·m, 2^21), n)
words of the empirical mixture's moment blocks (``partial_moments``, 2^21 pairs a block):

- coefficients of the population loss: W·(2.125 + L)·m² (per thread two m×m buffers, a boolean m×m
  mask and L accumulators), plus the target's own x-quadrature at the first time node (below);
- coefficients of the nested model: L·m² + 6.25·M² (its W threads, the population B1s alive);
- coefficients of the empirical loss: (L + 6.25)·m² + M² + P;
- eigendecompositions (``numpy.linalg.eigh``: a copy, 2N² of workspace, the eigenvectors):
  (L + 6)·m² + 5·M²;
- the KL measurements: (L + 3)·m² + 2·M² + 4·G·m, with G the largest x-grid whose scores are held
  as G×m arrays: 4001 for K4, 1200 + 43·(T + 10) (the Fokker–Planck grid with its outer cells) for
  K2 and K3, 0 for K1 alone (exact, no grid);

- in d >= 2, the Mehler Gram of :mod:`empirical.rf.relu_gram`: (L + 4)·m̄² + 14·2048·m̄ + 28·2e6 + 3·m̄·d
  with m̄ = max(m, M) (accumulators, ρ and its powers, the row chunks, the exact-pair blocks: the
  bivariate moments of one block of 2e6 (row, pair) entries hold about 26 temporaries of its size,
  396 MiB measured by tracemalloc at d = 4, n = 128, m = 128);
- with k = ``noise_draws`` (the finite-k empirical loss, :mod:`empirical.rf.noise_draws`), per t node
  the N = n·k noisy points: 3·m² + N·(3m + 6d) (the accumulator and the product φᵀφ; the features of
  this node and of the previous one, still bound while the next are built, and their pre-activations;
  the repeated points, the noise, the noisy points and the targets);
- with ``memorisation``: in d = 1 the K2 grid (G as for K2); in d >= 2 the S =
  ``memorisation_samples`` sampler draws, S·(2m + 6d) + 3·n·d (features and pre-activations, the
  draws, the noise, the score, the k-d tree of the training set);

the peak is the largest of these, plus, in d >= 2 with K3, the Monte-Carlo points: 18·N·d + 2·d² with
N = ``ode_samples`` (:data:`ODE_POINT_WORDS`: the points, their frame coordinates, log p_{t0} per
component, and the frame), plus 8·len(τ)·m·d (the flows over τ), 4·n·d (the training set), the
target's x-quadrature (bumps: 8 arrays of X × 2 components × 96 nodes, Gaussian mixtures: 6 arrays
of X × 2, with X the quadrature points at the first time node t = t0 + (T - t0)·u₁², u₁ the first
Gauss–Legendre node of the t-grid) and :data:`INTERPRETER_BYTES` for Python and its libraries.
Checked against the peak resident memory of runs with m up to 2048, m_ref_factor 0-4, K1-K4 and both
targets: the estimate lies 0-40% above it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .rf.coefficients import _WORKERS
from .rf.coefficients_nd import _CHUNK_ROWS
from .rf.relu_gram import _PAIR_BLOCK
from .quadrature import N_T_DEFAULT, time_grid
from .targets import Bump1D, GaussianMixture1D

DEFAULT_MAX_MEMORY_GIB = 16.0
"""The default memory cap of one measurement, in GiB (2^30 bytes)."""

GIB = 2**30
WORD = 8  # bytes of a float64
INTERPRETER_BYTES = 256 * 2**20
"""Python, numpy, scipy and sympy themselves (about 120 MiB resident), rounded up."""
MIXTURE_BLOCK = 1 << 21  # (point, component) pairs per block of empirical.rf.coefficients.partial_moments
K4_GRID = 4001  # empirical.kl.kl_integrated's default n_x
ODE_POINT_WORDS = 18
"""float64 words held per coordinate of each Monte-Carlo point of K3 in d >= 2 (the draw, its frame
coordinates and the mixture's per-component log-densities): 16.2-17.2 traced for 4000 points in d = 512."""


def _default(method: Any, name: str) -> int:
    return int(inspect.signature(method).parameters[name].default)


def first_time_node(T: float, t0: float) -> float:
    """The smallest t of the losses' t-grid (:func:`empirical.quadrature.time_grid`), where p_t is narrowest.

    Examples
    --------
    >>> from empirical.resources import first_time_node
    >>> f"{first_time_node(5.0, 0.0):.4g}"
    '6.037e-07'
    """
    return float(time_grid(T, N_T_DEFAULT, t0).t.min())


def x_quadrature(target: object, t: float) -> tuple[int, int, int]:
    """(points, most points allowed, float64 words held per point) of the target's own x-quadrature at t.

    The bumps integrate on composite 8-point Gauss–Legendre panels no wider than σ_t/4
    (``Bump1D.x_grid``, at most its ``max_panels``) and hold about 8 arrays of (points, components,
    order) while doing so; a Gaussian mixture's Fisher information uses panels of half its narrowest
    scale (``GaussianMixture1D.fisher_information``). Other targets: (0, inf, 0).

    Parameters
    ----------
    target : Target1D
    t : float
        Time in [0, T].

    Returns
    -------
    points, limit, words : int, int or float, int
    """
    if isinstance(target, Bump1D):  # mirrors Bump1D.x_grid's panel count without building the grid
        mu, rho, sig = target._params(t)
        lo, hi = target.support(t)
        breaks = np.unique(np.clip(np.concatenate([[lo, hi], mu - rho, mu + rho]), lo, hi))
        h = 0.25 * sig if sig > 0 else math.inf
        panels = sum(max(4, math.ceil((b - a) / h)) if math.isfinite(h) else 4 for a, b in zip(breaks[:-1], breaks[1:]))
        limit = _default(Bump1D.x_grid, "max_panels")
        return 8 * panels, 8 * limit, 8 * target.weights.size * target.order
    if isinstance(target, GaussianMixture1D):
        panels = target._panels(t)[2]
        limit = _default(GaussianMixture1D.fisher_information, "max_panels")
        return 8 * panels, 8 * limit, 6 * target.weights.size
    return 0, math.inf, 0


def grid_size(config: Any) -> int:
    """G: the largest x-grid of the KL measurements asked for, whose scores are held as G×m arrays."""
    sizes = [0]
    if "K4" in config.kl:
        sizes.append(K4_GRID)
    if "K2" in config.kl or "K3" in config.kl or (getattr(config, "memorisation", False)
                                                  and getattr(config, "d", 1) == 1):
        sizes.append(int(1200 + 43 * (config.T + 10)))
    return max(sizes)


def memory_estimate(config: Any, target: object) -> dict[str, float]:
    """Bytes a measurement will hold at its peak, by part, and their sum ``"total"`` (module docstring).

    Parameters
    ----------
    config : MeasureConfig
        Read: n, m, m_ref_factor, lam, kl, T, t0, taus.
    target : Target1D
        The configuration's target (:func:`empirical.measure.make_target`).

    Returns
    -------
    dict of str to float
        ``"arrays"`` (the largest phase's n×m and m×m arrays), ``"ODE sample points"`` (0 unless d >= 2
        with K3), ``"taus"``, ``"data"``,
        ``"target quadrature"``, ``"interpreter"`` and ``"total"``, in bytes.

    Examples
    --------
    >>> from empirical.measure import MeasureConfig, make_target
    >>> from empirical.resources import memory_estimate
    >>> c = MeasureConfig(n=64, m=1024, taus=(1.0,), kl=("K1",), m_ref_factor=4)
    >>> round(memory_estimate(c, make_target(c))["arrays"] / 2**30, 3)  # 6.25 (4m)^2 + 2 m^2 words
    0.797
    """
    m, n = float(config.m), float(config.n)
    M = m * config.m_ref_factor
    L = 1 if config.lam == "g2" else 2
    W = _WORKERS
    blocks = 2 * W * max(min(n * m, MIXTURE_BLOCK), n)
    phases = {
        "population coefficients": W * (2.125 + L) * m * m,
        "nested coefficients": L * m * m + W * 3.125 * M * M,
        "empirical coefficients": (L + 6.25) * m * m + M * M + blocks,
        "eigendecompositions": (L + 6) * m * m + 5 * M * M,
        "KL measurements": (L + 3) * m * m + 2 * M * M + 4 * grid_size(config) * m,
    }
    points, _, words = x_quadrature(target, first_time_node(config.T, config.t0))
    d = float(getattr(config, "d", 1))
    if d > 1:  # the Mehler Gram of empirical.rf.relu_gram: (W, m, m) accumulators, ρ and its powers, row chunks
        big = max(m, M)
        phases["Mehler Gram (d >= 2)"] = (L + 4) * big * big + 14.0 * _CHUNK_ROWS * big + 28.0 * _PAIR_BLOCK \
            + 3.0 * big * d
    samples = float(getattr(config, "ode_samples", 0)) if d > 1 and "K3" in config.kl else 0.0
    k = getattr(config, "noise_draws", None)
    if k:
        phases["empirical coefficients (noise draws)"] = 3 * m * m + n * k * (3 * m + 6 * d)
    if getattr(config, "memorisation", False) and d > 1:
        phases["memorisation draws"] = config.memorisation_samples * (2 * m + 6 * d) + 3 * n * d
    parts = {
        "arrays": WORD * max(phases.values()),
        "ODE sample points": WORD * (ODE_POINT_WORDS * samples * d + 2.0 * d * d) if samples else 0.0,
        "taus": WORD * 8.0 * len(config.taus) * max(m, 1.0) * d,
        "data": WORD * 4.0 * n * d,
        "target quadrature": WORD * float(points) * words,
        "interpreter": float(INTERPRETER_BYTES),
    }
    parts["total"] = sum(parts.values())
    return parts


def check_resources(config: Any, target: object, max_memory: float | None = None) -> None:
    """Refuse, before any computation, a measurement that its target cannot integrate or that exceeds the cap.

    Parameters
    ----------
    config : MeasureConfig
    target : Target1D
        The configuration's target.
    max_memory : float, optional
        The cap in GiB, > 0 (default :data:`DEFAULT_MAX_MEMORY_GIB`).

    Raises
    ------
    ValueError
        Naming ``max_memory`` if it is not a number > 0; naming mu and T if the target's x-quadrature
        needs more panels than it allows at the first time node; naming n, m (and m_ref_factor) and
        the cap if :func:`memory_estimate` exceeds it.

    Examples
    --------
    >>> from empirical.measure import MeasureConfig, make_target
    >>> from empirical.resources import check_resources
    >>> c = MeasureConfig(n=64, m=20000, taus=(1.0,), kl=("K1",))
    >>> check_resources(c, make_target(c))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: n = 64, m = 20000 (m_ref_factor 4: a nested model of 80000 features): the run would hold about 304 GiB...
    """
    cap = check_max_memory(DEFAULT_MAX_MEMORY_GIB if max_memory is None else max_memory)
    t1 = first_time_node(config.T, config.t0)
    points, limit, _ = x_quadrature(target, t1)
    if points > limit:
        raise ValueError(
            f"mu = {config.mu:g} with T = {config.T:g} (t0 = {config.t0:g}): target {config.target!r} needs "
            f"{points // 8} x-panels at the first time node t = {t1:.3g} of the losses, above the "
            f"{int(limit) // 8} its quadrature allows; lower mu, or raise T or t0"
        )
    parts = memory_estimate(config, target)
    if parts["total"] > cap * GIB:
        nested = (f" (m_ref_factor {config.m_ref_factor}: a nested model of {config.m * config.m_ref_factor} "
                  "features)" if config.m_ref_factor else "")
        dim = f", d = {config.d}" if getattr(config, "d", 1) > 1 else ""
        dim += f", noise_draws = {config.noise_draws}" if getattr(config, "noise_draws", None) else ""
        dim += (f", memorisation_samples = {config.memorisation_samples}"
                if getattr(config, "memorisation", False) and getattr(config, "d", 1) > 1 else "")
        if parts["ODE sample points"] > 0.5 * parts["total"]:
            what, lower = (f"{config.ode_samples} Monte-Carlo points of K3 in d = {config.d}",
                           "lower ode_samples (diffgen measure --ode-samples) or d")
        else:
            what, lower = "m×m, n×m and grid×m arrays", "lower m (or m_ref_factor, n)"
        raise ValueError(
            f"n = {config.n}, m = {config.m}{dim}{nested}: the run would hold about {parts['total'] / GIB:.3g} GiB "
            f"({what}, estimated in empirical/resources.py), above the memory cap "
            f"max_memory = {cap:g} GiB; {lower}, or raise the cap (diffgen measure --max-memory GIB)"
        )


TORCH_BYTES = 256 * 2**20
"""torch on top of :data:`INTERPRETER_BYTES` (``diffgen train`` with width 16: about 425 MiB resident in all)."""


def train_memory_estimate(net: str, width: int, n: int, batch_size: int) -> dict[str, float]:
    """Bytes one ``diffgen train`` run will hold at its peak, by part, and their sum ``"total"``.

    In float64 words (8 bytes): the training set and the draws of an epoch, with the epoch-0 loss that
    evaluates the network on all n points at once, n·(16 + 4·width); a minibatch's activations and
    gradients, 8·batch·width; the checkpoint measurements, whose largest grid (the 4001 nodes of K4) is
    evaluated at once, 2·4001·width, and for the random-feature model the m×m coefficients of K1's
    population loss, 6.25·width² (:func:`memory_estimate`'s first phase with one weighting), whichever is
    larger; plus Python, numpy and torch. Checked against the peak resident memory of runs (epochs 0 or
    1): Swish width 4096 and 16384 measured 578 and 1181 MiB (estimated 778 and 1576), random features
    m = 2048 measured 581 MiB (estimated 720), width 16 with n = 200000 measured 474 MiB (estimated 635).

    Parameters
    ----------
    net : {"swish", "rf"}
    width, n, batch_size : int
        Hidden units or features, training points, minibatch size.

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> from empirical.resources import train_memory_estimate
    >>> round(train_memory_estimate("rf", 2048, 64, 32)["total"] / 2**20)
    720
    """
    w, n, b = float(width), float(n), float(min(batch_size, n))
    measure = 2.0 * K4_GRID * w
    if net == "rf":
        measure = max(measure, _WORKERS * 3.125 * w * w)
    parts = {"training": WORD * (n * (16.0 + 4.0 * w) + 8.0 * b * w), "measurements": WORD * measure,
             "interpreter": float(INTERPRETER_BYTES + TORCH_BYTES)}
    parts["total"] = sum(parts.values())
    return parts


def check_train_resources(net: str, width: int, n: int, batch_size: int, max_memory: float | None = None) -> None:
    """Refuse, before training, a run whose :func:`train_memory_estimate` exceeds the cap (GiB).

    Raises
    ------
    ValueError
        Naming ``--max-memory`` if it is not a number > 0, else the estimate, width, n and the flags to change.

    Examples
    --------
    >>> from empirical.resources import check_train_resources
    >>> check_train_resources("rf", 100000, 1000, 32)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: --net rf --width 100000 --n 1000: the run would hold about 469 GiB ...
    """
    try:
        cap = check_max_memory(DEFAULT_MAX_MEMORY_GIB if max_memory is None else max_memory)
    except ValueError as err:
        raise ValueError(str(err).replace("max_memory", "--max-memory")) from None
    parts = train_memory_estimate(net, width, n, batch_size)
    if parts["total"] > cap * GIB:
        raise ValueError(
            f"--net {net} --width {width} --n {n}: the run would hold about {parts['total'] / GIB:.3g} GiB "
            f"({describe(parts)}; estimated in empirical/resources.py), above the memory cap --max-memory "
            f"{cap:g} GiB; lower --width or --n (or --batch-size), or raise --max-memory")


def check_max_memory(value: object) -> float:
    """``value`` as a float if it is a finite number of GiB > 0, else a ``ValueError`` naming max_memory.

    Examples
    --------
    >>> from empirical.resources import check_max_memory
    >>> check_max_memory(0)
    Traceback (most recent call last):
        ...
    ValueError: max_memory must be a finite number of GiB > 0, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"max_memory must be a finite number of GiB > 0, got {value!r}")
    return float(value)


def describe(parts: Mapping[str, float]) -> str:
    """One line: each part of :func:`memory_estimate` in MiB (for logs and error reports)."""
    return ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in parts.items())
