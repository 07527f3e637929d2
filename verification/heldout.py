"""Calibrated bounds (docs/theory.md §8.3): the simplified Theorems 1-2 at measured points, the hidden
constants fitted on a calibration design, and the test on held-out draws that extrapolate.

A bound is Σ_j c_j T_j + KL(p_T‖π). The T_j are the simplified terms of ``bounds`` with unit
constants, evaluated at (n, m, τ, µ) and at the quantities the run measures (not fitted):
L̃(θ*) (``loss_star``), L̃(θ̄*) (estimated by the nested model with more features, ``loss_star_ref``),
and the optimisation term's norm ‖θ0 - θ̃‖² = ‖θ_ρ‖² (A(0) = 0) of the ridge comparator θ_ρ of Lemma 4
(``comparator_norm2``, docs/theory.md §3.2), so the 1/τ column is ‖θ_ρ‖²/τ, the form of Lemma 4. KL(p_T‖π) enters with constant exactly 1 (Lemma 2), so it is the offset.

Design and held-out draws are seeded independently:

- the calibration design is the grid n, m in ``DESIGN_NM`` x three µ x ``DESIGN_REPLICATES``, each
  cell with its own seed from ``SeedSequence([theorem, n, m, i])`` (< ``HELDOUT_SEED0``), so every
  cell has fresh features and fresh data; K1 on the dense grid ``DESIGN_TAUS`` on [1, 1e8], K2 at
  three of those τ;
- a held-out draw has n, m log-uniform integers on ``HELDOUT_NM`` = [2, 512] (4x above the design's
  largest n, m and below its smallest, within the hypotheses' n, m >= 1), three τ log-uniform on
  [1, 1e10] (beyond the design's τ; τ >= 1 is a hypothesis), µ uniform on the theorem's range (above
  √log(1/δ²) for Theorem 2), mixture weights uniform, and a seed >= ``HELDOUT_SEED0``; the draws form
  a Latin hypercube (:func:`heldout_design`).

A control (:mod:`verification.controls`) is calibrated and tested exactly like the paper's bound;
:func:`verdict` turns the held-out test of both into the check's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from empirical.measure import MeasureConfig, Measurement

from .calibration import Calibration, calibrate, load_constants, save_constants
from .claims import simplified

OFFSET_TERM = "prior"
HELDOUT_SEED0 = 10_000
CONSTANTS_FILE = {1: "theorem1_constants", 2: "theorem2_constants"}

DESIGN_NM = (8, 32, 128)
DESIGN_REPLICATES = 2
DESIGN_TAUS = tuple(float(t) for t in np.logspace(0, 8, 33))
DESIGN_K2_TAUS = (1.0, 1e4, 1e8)
MU_RANGE = {2: (2.6, 6.0), 1: (1.1, 2.5)}
"""µ of the held-out draws: Theorem 2 above √log(1/δ²) = 2.45 (δ = 0.05); Theorem 1's bump position > 1."""
DESIGN_MUS = {2: (2.5, 4.0, 6.0), 1: (1.1, 1.8, 2.5)}
HELDOUT_NM = (2, 512)
HELDOUT_TAU = (1.0, 1e10)
HELDOUT_TAUS_PER_DRAW = 3
TARGET = {1: "bump", 2: "gm"}


def term_names(theorem: int) -> tuple[str, ...]:
    """The simplified bound's terms with a fitted constant (all but KL(p_T‖π))."""
    return tuple(k for k in simplified(theorem).terms if k != OFFSET_TERM)


def points_of(result: Measurement) -> list[dict]:
    """One point per τ of a measurement: the variables, the seed and the measured inputs of the bound."""
    c, q = result.config, result.quantities
    return [{"n": c.n, "m": c.m, "tau": tau, "mu": c.mu, "seed": c.seed,
             "L_star": q["loss_star"], "L_bar": q["loss_star_ref"], "KL_T": q["kl_prior"],
             "norm2": q["comparator_norm2"]} for tau in c.taus]


def term_matrix(theorem: int, points: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(T, offset): the P x J unit-constant term values (``term_names`` order) and KL(p_T‖π)."""
    bound = simplified(theorem)
    values = {k: np.array([p[k] for p in points], dtype=float) for k in ("n", "m", "tau", "L_star", "L_bar", "KL_T")}
    if theorem == 2:
        values["mu"] = np.array([p["mu"] for p in points], dtype=float)
    terms = bound.evaluate_terms(check_hypotheses=False, **values)
    names = term_names(theorem)
    T = np.column_stack([np.broadcast_to(terms[k], (len(points),)) for k in names]).astype(float)
    T[:, names.index("opt")] *= np.array([p["norm2"] for p in points])
    return T, np.asarray(terms[OFFSET_TERM], dtype=float) * np.ones(len(points))


def variables(theorem: int, points: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per-point arrays any bound is built from: n, m, tau, mu, norm2 (‖θ*‖²), the paper's unit-constant
    terms by name (``term_names``) and the offset KL(p_T‖π) under ``OFFSET_TERM``."""
    out = {k: np.array([p[k] for p in points], dtype=float) for k in ("n", "m", "tau", "mu", "norm2")}
    T, offset = term_matrix(theorem, points)
    out.update({k: T[:, j] for j, k in enumerate(term_names(theorem))})
    out[OFFSET_TERM] = offset
    return out


def measured_max(result: Measurement) -> np.ndarray:
    """max(K1, K2) at each τ (K2 where measured): the bound must dominate both."""
    k1 = result.K["K1"]
    return np.fmax(k1, result.K["K2"]) if "K2" in result.K else k1


def boundary_mass_max() -> float:
    """The largest mass K2's Fokker-Planck law may hold in its outer cells (``empirical.kl``; 1e-6 if absent)."""
    from empirical import kl

    return float(getattr(kl, "BOUNDARY_MASS_MAX", 1e-6))


def truncated(result: Measurement) -> np.ndarray:
    """Per τ: True where K2's Fokker-Planck law was truncated (boundary mass above :func:`boundary_mass_max`);
    such a point's K2 is not a measurement of the sampler, so it enters neither fit nor verdict."""
    masses = getattr(result, "boundary_mass", None) or {}
    mass = masses.get("K2") if isinstance(masses, Mapping) else None
    if mass is None:
        return np.zeros(len(result.config.taus), dtype=bool)
    return np.asarray(mass, dtype=float) > boundary_mass_max()


def measured_points(results: Sequence[Measurement]) -> tuple[list[dict], np.ndarray, int]:
    """(points, max(K1, K2), number of truncated points left out) over measurements."""
    points, y, dropped = [], [], 0
    for r in results:
        keep = ~truncated(r)
        dropped += int(np.sum(~keep))
        points.extend(p for p, k in zip(points_of(r), keep) if k)
        y.append(measured_max(r)[keep])
    return points, (np.concatenate(y) if y else np.zeros(0)), dropped


def design_seed(theorem: int, n: int, m: int, i: int, attempt: int = 0) -> int:
    """The seed (< ``HELDOUT_SEED0``) of design cell i at (n, m): ``SeedSequence([theorem, n, m, i])``
    (``attempt`` > 0 re-draws a seed already taken by another cell)."""
    key = [theorem, n, m, i] + ([attempt] if attempt else [])
    return int(np.random.SeedSequence(key).generate_state(1)[0] % HELDOUT_SEED0)


def calibration_design(theorem: int) -> list[MeasureConfig]:
    """The calibration design: n, m in ``DESIGN_NM``, µ in ``DESIGN_MUS``, ``DESIGN_REPLICATES`` cells
    each, a fresh seed per cell; K1 on ``DESIGN_TAUS`` and, same seed, K2 at ``DESIGN_K2_TAUS``.

    Examples
    --------
    >>> from verification.heldout import calibration_design
    >>> configs = calibration_design(2)
    >>> len(configs), len({c.seed for c in configs}), max(c.seed for c in configs) < 10_000
    (108, 54, True)
    """
    base = MeasureConfig(target=TARGET[theorem], taus=DESIGN_TAUS, kl=("K1",))
    taken: set[int] = set()
    configs = []
    for n in DESIGN_NM:
        for m in DESIGN_NM:
            for k, mu in enumerate(DESIGN_MUS[theorem]):
                for r in range(DESIGN_REPLICATES):
                    i, attempt = k * DESIGN_REPLICATES + r, 0
                    while (seed := design_seed(theorem, n, m, i, attempt)) in taken:
                        attempt += 1
                    taken.add(seed)
                    configs.append(replace(base, n=n, m=m, mu=mu, seed=seed))
                    configs.append(replace(base, n=n, m=m, mu=mu, seed=seed, taus=DESIGN_K2_TAUS, kl=("K1", "K2")))
    return configs


def heldout_design(theorem: int, count: int, seed: int = 0) -> list[MeasureConfig]:
    """``count`` held-out draws of (n, m, τ, µ, weights, seed), seeded by ``SeedSequence([theorem,
    HELDOUT_SEED0, seed])`` independently of the design.

    A Latin hypercube over the draws: log n, log m, µ and q1 each take one value in each of ``count``
    equal strata of their range (so n, m are log-uniform on ``HELDOUT_NM`` and the draws reach both ends
    of it), and each draw's three τ are log-uniform on the three equal thirds of log ``HELDOUT_TAU`` (so
    every draw has a τ near the start of training and τ is log-uniform on [1, 1e10] overall).

    Examples
    --------
    >>> from verification.heldout import heldout_design
    >>> draws = heldout_design(2, 16)
    >>> all(2 <= c.n <= 512 and 2 <= c.m <= 512 and c.seed >= 10_000 for c in draws)
    True
    >>> all(1 <= t <= 1e10 for c in draws for t in c.taus), min(c.n for c in draws) <= 3, max(c.m for c in draws) >= 360
    (True, True, True)
    """
    if not (isinstance(count, (int, np.integer)) and count >= 0):
        raise ValueError(f"count must be an integer >= 0, got {count!r}")
    rng = np.random.default_rng(np.random.SeedSequence([theorem, HELDOUT_SEED0, seed]))

    def latin(lo: float, hi: float) -> np.ndarray:
        return lo + (rng.permutation(count) + rng.uniform(size=count)) / max(count, 1) * (hi - lo)

    log_n, log_m = (latin(*np.log(HELDOUT_NM)) for _ in range(2))
    mus, q1s = latin(*MU_RANGE[theorem]), latin(0.3, 0.7)
    t_lo, t_hi = (np.log10(v) for v in HELDOUT_TAU)
    k = HELDOUT_TAUS_PER_DRAW
    log_taus = t_lo + (np.arange(k) + rng.uniform(size=(count, k))) / k * (t_hi - t_lo)

    def integer(log_v: float) -> int:
        return int(np.clip(np.rint(np.exp(log_v)), *HELDOUT_NM))

    out: list[MeasureConfig] = []
    seeds: set[int] = set()
    for i in range(count):
        while (s := HELDOUT_SEED0 + int(rng.integers(0, 2**31 - HELDOUT_SEED0))) in seeds:
            pass
        seeds.add(s)
        out.append(MeasureConfig(target=TARGET[theorem], mu=float(mus[i]), weights=(float(q1s[i]), 1 - float(q1s[i])),
                                 n=integer(log_n[i]), m=integer(log_m[i]),
                                 taus=tuple(float(t) for t in 10.0 ** log_taus[i]), seed=s, kl=("K1", "K2")))
    return out


def fit(theorem: int, results: Sequence[Measurement], command: str) -> Calibration:
    """Fit the paper's constants on measured calibration results (linear program, ``calibration.calibrate``);
    points with a truncated K2 law are left out."""
    points, y, dropped = measured_points(results)
    T, offset = term_matrix(theorem, points)
    seeds = sorted({r.config.seed for r in results})
    return calibrate(T, offset, y, term_names(theorem), points, seeds, command,
                     notes=f"Theorem {theorem} simplified; measured = max(K1, K2); opt column = ||theta*||^2/tau; "
                           f"KL(p_T||pi) with constant 1 as the offset; {dropped} points with a truncated K2 "
                           "law left out")


def design_summary(theorem: int) -> dict:
    """The calibration design in a few numbers (stored with the fitted controls)."""
    return {"n": list(DESIGN_NM), "m": list(DESIGN_NM), "mu": list(DESIGN_MUS[theorem]),
            "replicates": DESIGN_REPLICATES, "tau_K1": [DESIGN_TAUS[0], DESIGN_TAUS[-1], len(DESIGN_TAUS)],
            "tau_K2": list(DESIGN_K2_TAUS), "seeds": "SeedSequence([theorem, n, m, i]) % 10000 per cell"}


def save(theorem: int, calibration: Calibration) -> str:
    return str(save_constants(calibration, CONSTANTS_FILE[theorem]))


def load(theorem: int) -> Calibration:
    return load_constants(CONSTANTS_FILE[theorem])


def heldout_check(calibration: Calibration, theorem: int, result: Measurement) -> dict:
    """Bound, tightness ratio bound/max(K1, K2), and domination at each τ of a held-out result."""
    T, offset = term_matrix(theorem, points_of(result))
    y = measured_max(result)
    check = calibration.check_held_out(T, offset, y)
    return {"bound": check.bound.tolist(), "measured": y.tolist(), "ratio": check.ratio.tolist(),
            "dominated": bool(check.all_dominated)}


def ranges(points: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """[min, max] of n, m, τ and µ over points."""
    return {k: [float(min(p[k] for p in points)), float(max(p[k] for p in points))] if points else []
            for k in ("n", "m", "tau", "mu")}


def power(controls: Sequence[Mapping[str, Any]]) -> float:
    """The fraction of the named controls (``named`` True) that the held-out test rejects; 0 without any.

    Examples
    --------
    >>> from verification.heldout import power
    >>> power([{"named": True, "rejected": True}, {"named": True, "rejected": False},
    ...        {"named": False, "rejected": True}])
    0.5
    """
    named = [c for c in controls if c["named"]]
    return sum(bool(c["rejected"]) for c in named) / len(named) if named else 0.0


def verdict(paper_violations: int, controls: Sequence[Mapping[str, Any]]) -> tuple[str, float]:
    """(verdict, power): "violated" if a held-out point lies above the calibrated paper bound; else "holds"
    if the same test rejects more than half of the named controls (power > 0.5), else "inconclusive".

    Examples
    --------
    >>> from verification.heldout import verdict
    >>> named = [{"named": True, "rejected": r} for r in (True, True, True, False, False)]
    >>> verdict(0, named), verdict(2, named)
    (('holds', 0.6), ('violated', 0.6))
    >>> verdict(0, named[2:])[0]
    'inconclusive'
    """
    p = power(controls)
    if paper_violations > 0:
        return "violated", p
    return ("holds" if p > 0.5 else "inconclusive"), p


def where(point: Mapping[str, Any], measured: float, bound: float) -> dict:
    """A held-out point as a failure report names it."""
    return {"n": int(point["n"]), "m": int(point["m"]), "tau": float(point["tau"]), "mu": float(point["mu"]),
            "seed": int(point["seed"]), "measured": float(measured), "bound": float(bound)}


def heldout_test(theorem: int, results: Sequence[Measurement], calibration: Calibration,
                 controls: Sequence[Any] = ()) -> dict:
    """The held-out test of the paper's calibrated bound and of every fitted control
    (:class:`verification.controls.ControlFit`) on the same held-out measurements.

    Returns a dict: ``verdict``, ``power``, ``measured`` (the check's numbers: points, dominated, tightness,
    ranges, failures with where) and ``controls`` (one dict per control: shape, rejected, named,
    violations, constants).
    """
    points, y, dropped = measured_points(results)
    if not points:
        return {"verdict": "inconclusive", "power": power([]), "controls": (), "ratio": np.zeros(0),
                "measured": {"points": 0, "excluded_truncated_K2": dropped, "error": "no held-out point to test"}}
    v = variables(theorem, points)
    T, offset = term_matrix(theorem, points)
    bound = calibration.bound(T, offset)
    above = y > bound
    with np.errstate(divide="ignore"):
        ratio = np.where(y > 0, bound / np.where(y > 0, y, 1.0), np.inf)
    finite = ratio[np.isfinite(ratio)]
    found = []
    for c in controls:
        cb = c.bound(v)
        found.append({"shape": c.control.shape, "rejected": bool(np.any(y > cb)), "named": c.control.named,
                      "violations": int(np.sum(y > cb)), "constants": dict(c.constants)})
    word, p = verdict(int(np.sum(above)), found)
    measured = {
        "points": int(y.size), "draws": len(results), "dominated": int(np.sum(~above)),
        "excluded_truncated_K2": dropped,
        "tightness_min": float(finite.min()) if finite.size else None,
        "tightness_median": float(np.median(finite)) if finite.size else None,
        "tightness_max": float(finite.max()) if finite.size else None,
        "design_ranges": ranges(calibration.design), "heldout_ranges": ranges(points),
        "failures": [where(points[i], y[i], bound[i]) for i in np.flatnonzero(above)],
    }
    return {"verdict": word, "power": p, "measured": measured, "controls": tuple(found), "ratio": ratio}
