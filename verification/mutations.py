"""Deliberate engine faults that the exact checks must catch (docs/theory.md §8.1).

Each :class:`Mutation` monkeypatches one engine function for the duration of a ``with`` block; the
measurements of a small fixed set (``FIXED_SET``) are then taken again under it and the exact checks read
off them (:func:`exact_failures`): Lemmas 4-5 on both flows and the independent evaluations
(:func:`empirical.measure.lemma_checks.lemma_checks`, :func:`empirical.measure.independent.independent_checks`, which
carry ledger-I2 and K1 by quadrature), and K2 <= K1 (Lemma 2). A mutation that no exact check catches is
a blind spot of the suite. Measurements under a mutation are never cached.

References
----------
arXiv:2311.01797, Lemmas 2, 4, 5 and decomposition (15); docs/theory.md §3.1, §7, §8.1, §8.5.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from unittest import mock

import numpy as np

import empirical.rf.flow as flow_module
import empirical.kl.fokker_planck as fokker_planck
import empirical.kl.score_bound as score_bound
import empirical.measure.run as measure_module
from empirical.measure import MeasureConfig, Measurement, measure

from .sections.exact import lemma2_pairs

__all__ = ["FIXED_SET", "MUTATIONS", "Mutation", "caught_line", "exact_failures", "measure_set", "run_mutations"]

_TAUS = (1.0, 1e3, 1e6)
FIXED_SET = (
    MeasureConfig(n=8, m=16, taus=_TAUS, seed=0, kl=("K1", "K2"), m_ref_factor=0),
    MeasureConfig(n=32, m=32, mu=4.0, taus=_TAUS, seed=1, kl=("K1", "K2"), m_ref_factor=0),
)
"""The measurements every mutation is applied to: two-mode targets, K1 and K2 at three τ (about a second)."""


@dataclass(frozen=True)
class Mutation:
    """A named engine fault: ``apply()`` is a context manager inside which the engine carries it."""

    name: str
    description: str
    apply: Callable[[], contextlib.AbstractContextManager]


def _k1_times(factor: float) -> Callable[[], contextlib.AbstractContextManager]:
    original = score_bound._quadratic
    return lambda: mock.patch.object(score_bound, "_quadratic", lambda *a: factor * original(*a))


def _sampler(drift: float = 1.0, score: float = 1.0) -> Callable[[], contextlib.AbstractContextManager]:
    """The reverse SDE's Fokker-Planck generator with its score term g² s scaled by drift·score."""
    original = fokker_planck._generator

    def generator(sde, s, t, faces, d, h):  # noqa: ANN001, ANN202 - the generator's own signature
        return original(sde, lambda tt, x: drift * score * s(tt, x), t, faces, d, h)

    return lambda: mock.patch.object(fokker_planck, "_generator", generator)


def _flow_time(scale: Callable[[np.ndarray], float]) -> Callable[[], contextlib.AbstractContextManager]:
    """Every closed-form flow evaluated at scale(β)·τ instead of τ."""
    original = flow_module.flow_factor
    return lambda: mock.patch.object(flow_module, "flow_factor",
                                     lambda beta, taus: original(beta, np.asarray(taus) * scale(beta)))


@contextlib.contextmanager
def _lemma4_wrong_flow() -> Iterator[None]:
    """The population flow's lemma checks receive the empirical flow (the first call's flow in measure())."""
    original = measure_module.lemma_checks
    seen: dict[str, np.ndarray] = {}

    def swapped(loss, A, taus):  # noqa: ANN001, ANN202 - lemma_checks' own signature
        if loss.kind.startswith("empirical"):
            seen["A"] = A
            return original(loss, A, taus)
        return original(loss, seen.get("A", A), taus)

    with mock.patch.object(measure_module, "lemma_checks", swapped):
        yield


MUTATIONS = {m.name: m for m in (
    Mutation("K1 x 2", "the score bound K1 doubled (the 1/2 of Lemma 2 dropped)", _k1_times(2.0)),
    Mutation("K1 x 1/2", "the score bound K1 halved", _k1_times(0.5)),
    Mutation("sampler: probability-flow drift", "the reverse SDE (3) with the ODE's drift f x - g² s/2", _sampler(drift=0.5)),
    Mutation("sampler: score x 1.5", "the reverse SDE (3) driven by 1.5 times the model score", _sampler(score=1.5)),
    Mutation("flow at 0.5x speed", "every flow (9)-(10) reports θ(τ/2) at τ", _flow_time(lambda beta: 0.5)),
    Mutation("flow at 2x speed", "every flow (9)-(10) reports θ(2τ) at τ", _flow_time(lambda beta: 2.0)),
    Mutation("time unit: A-flow (tau/m)", "the flows run dA/dτ = -∇_A L (A-time): θ(τ/m) at τ (docs/theory.md §3.1)",
             _flow_time(lambda beta: 1.0 / beta.size)),
    Mutation("time unit: s = m tau", "the flows run for s = mτ in θ-time: θ(mτ) at τ (docs/theory.md §3.1)",
             _flow_time(lambda beta: float(beta.size))),
    Mutation("Lemma 4 on the wrong flow", "the population flow's Lemma 4-5 checks evaluated on the empirical flow",
             _lemma4_wrong_flow),
)}
"""Every engine fault of the registry, by name."""


def measure_set(configs: Sequence[MeasureConfig] = FIXED_SET) -> list[Measurement]:
    """The measurements of ``configs``, computed afresh (never from a cache)."""
    return [measure(c) for c in configs]


def exact_failures(results: Sequence[Measurement]) -> list[str]:
    """The exact checks that fail on ``results``, sorted: "<entry>:<check>" for each failed check of
    ``Measurement.lemmas`` (entries "empirical_flow", "population_flow", "independent"; the last holds
    ledger-I2 as "I2_agreement" and "ledger_I2", and "K1_quadrature"), and "K2<=K1" (Lemma 2 at every
    point where K2 was measured and its law is neither truncated nor unresolved)."""
    failed = {f"{entry}:{name}" for r in results for entry, v in r.lemmas.items() for name in v.get("failed", ())}
    k1, k2, *_ = lemma2_pairs(results)
    if np.any(k2 > k1):
        failed.add("K2<=K1")
    return sorted(failed)


def run_mutations(names: Sequence[str] | None = None,
                  configs: Sequence[MeasureConfig] = FIXED_SET) -> list[dict]:
    """Apply each mutation in turn, measure ``configs`` under it and run the exact checks.

    Parameters
    ----------
    names : sequence of str, optional
        Keys of :data:`MUTATIONS`; all of them by default.
    configs : sequence of MeasureConfig
        The measurements (default :data:`FIXED_SET`).

    Returns
    -------
    list of dict
        ``{"mutation": name, "caught_by": [check names]}`` per mutation (:func:`exact_failures`); an
        empty ``caught_by`` is a mutation no exact check catches.

    Raises
    ------
    ValueError
        If a name is not in :data:`MUTATIONS`.

    Examples
    --------
    >>> from verification.mutations import run_mutations
    >>> run_mutations(["K1 x 1/2"])
    [{'mutation': 'K1 x 1/2', 'caught_by': ['K2<=K1', 'independent:K1_quadrature']}]
    """
    names = list(MUTATIONS) if names is None else list(names)
    unknown = [n for n in names if n not in MUTATIONS]
    if unknown:
        raise ValueError(f"names must be keys of MUTATIONS {sorted(MUTATIONS)}, got {unknown!r}")
    rows = []
    for name in names:
        with MUTATIONS[name].apply():
            results = measure_set(configs)
        rows.append({"mutation": name, "caught_by": exact_failures(results)})
    return rows


def caught_line(rows: Sequence[dict]) -> str:
    """"engine mutations caught: k of K", naming any mutation that was not caught.

    Examples
    --------
    >>> caught_line([{"mutation": "a", "caught_by": ["K2<=K1"]}, {"mutation": "b", "caught_by": []}])
    'engine mutations caught: 1 of 2 (not caught: b)'
    """
    missed = [r["mutation"] for r in rows if not r["caught_by"]]
    line = f"engine mutations caught: {len(rows) - len(missed)} of {len(rows)}"
    return line + (f" (not caught: {', '.join(missed)})" if missed else "")
