"""What every report section shares: the :class:`Context` it runs in (sweeps, figures, and :meth:`Context.judge`,
which hands a claim's rule its data), the typed :class:`Section` it returns, and the small statistics helpers
the sections have in common."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirical.measure import MeasureConfig, Measurement

from ..claims.registry import CLAIMS
from ..rules import Values
from ..store.runner import Runner
from ..statistics.stats import PowerLawFit, fit_power_law_seeds, seed_slopes
from ..designs.sweeps import Scale
from ..verdicts import Check, fit_numbers, make_check


@dataclass(frozen=True)
class Section:
    """One section of the report: its title, markdown text and figure paths, its checks, and the
    entries it adds under "data" in results.json."""

    title: str
    content: tuple[str | Path, ...]
    checks: tuple[Check, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """The sizes (:class:`~verification.designs.sweeps.Scale`), the output folder and the runner of one build."""

    scale: Scale
    out: Path
    runner: Runner

    def run(self, configs: Sequence[MeasureConfig], desc: str) -> list[Measurement]:
        """Run a sweep (cached, with a progress bar); its results join the exact checks."""
        return self.runner.run_all(configs, desc)

    def figure(self, name: str) -> Path:
        """Where the figure ``name`` goes."""
        return self.out / name

    def judge(self, claim_id: str, data: Any, **sizes: Any) -> Check:
        """The check of claim ``claim_id``: its rule applied to ``data``, with the scale's simulation replicates."""
        return make_check(CLAIMS[claim_id], data, self.scale.replicates, **sizes)


def fit(x: Any, y: Any, groups: Any) -> PowerLawFit:
    """Power law in log-log: the mean of per-seed slopes with a t interval over ``groups`` (seeds)."""
    return fit_power_law_seeds(np.asarray(x, float), np.asarray(y, float), groups=np.asarray(groups))


def try_fit(x: Any, y: Any, groups: Any) -> PowerLawFit | None:
    """:func:`fit`, or None when the data cannot give a per-seed slope (fewer than 2 seeds with 2 x each)."""
    keep = [g for g in set(groups) if len({xi for xi, gi in zip(x, groups) if gi == g}) >= 2]
    sel = [i for i, g in enumerate(groups) if g in keep]
    if len(keep) < 2:
        return None
    return fit([x[i] for i in sel], [y[i] for i in sel], [groups[i] for i in sel])


def curve(result: Measurement, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(τ, KL) of a measurement without the points whose sampler law was truncated by the grid's walls
    (boundary mass above :data:`empirical.kl.BOUNDARY_MASS_MAX`): those measure another sampler."""
    keep = ~truncated(result, name)
    return result.taus[keep], np.asarray(result.K[name])[keep]


def truncated(result: Measurement, name: str) -> np.ndarray:
    """Which τ of a measurement have a truncated ``name`` law (all False where no mass was recorded)."""
    from empirical.kl import BOUNDARY_MASS_MAX

    mass = getattr(result, "boundary_mass", {}).get(name)
    if mass is None:
        return np.zeros(result.taus.size, dtype=bool)
    return np.asarray(mass, dtype=float) > BOUNDARY_MASS_MAX


def slopes(x: Any, y: Any, groups: Any, **extra: Any) -> Values:
    """The per-seed log-log slopes as a rule's data, with the pooled fit's numbers beside them (fewer than 2 seeds
    with 2 x each: the seeds that have a slope, so the rule says inconclusive)."""
    keep = [g for g in dict.fromkeys(groups) if len({xi for xi, gi in zip(x, groups) if gi == g}) >= 2]
    sel = [i for i, g in enumerate(groups) if g in keep]
    xs, ys, gs = [x[i] for i in sel], [y[i] for i in sel], [groups[i] for i in sel]
    values = seed_slopes(np.asarray(xs, float), np.asarray(ys, float), np.asarray(gs)) if sel else []
    numbers = fit_numbers(fit(xs, ys, gs)) if len(keep) >= 2 else {}
    numbers.pop("ci95", None)
    numbers.pop("slope", None)
    return Values(tuple(values), {**numbers, **extra})


def fmt_fit(f: PowerLawFit) -> str:
    """"slope [low, high]" with three decimals."""
    return f"{f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}]"


def seed_mean(results: Sequence[Measurement], key: str, values: Callable[[Measurement], Any]) -> np.ndarray:
    """Mean over seeds of ``values(result)``, grouped by the configuration field ``key``, sorted by it."""
    groups: dict = {}
    for r in results:
        groups.setdefault(getattr(r.config, key), []).append(values(r))
    return np.array([np.mean(groups[k], axis=0) for k in sorted(groups)])


def seeds_of(results: Sequence[Measurement]) -> list[int]:
    """The seed of each result, in order (the groups of a per-seed fit)."""
    return [r.config.seed for r in results]
