"""Agreement within a margin, judged by Student's t interval of per-seed differences over seeds (docs/theory.md
§8): :class:`Tolerance` (a difference that must stay below a tolerance: ``holds`` below, ``violated`` above) and
:class:`Equivalence` (a difference within ±margin: ``consistent`` inside, against wholly outside). Nulls and
alternatives are simulated as for the other interval rules (:mod:`.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Hypothesis, Values, t_bounds
from .intervals import _draw, _fmt, _OnInterval, ci_key


@dataclass(frozen=True)
class Tolerance(_OnInterval):
    """A difference that must stay within ``tol``: ``holds`` if the t interval of the per-seed values lies
    wholly below ``tol``, ``violated`` (the claim's ``against``) if wholly above, ``inconclusive`` otherwise.

    Null: mean exactly ``tol``; errors both decisive verdicts. Alternative: the per-seed values of a named
    negative control (``Values.extra["control"]``), with their own spread, detected as against.

    Examples
    --------
    >>> from verification.rules import Tolerance, Values, judge, rng_for
    >>> data = Values([0.035, 0.028, 0.020, 0.036, 0.027], {"control": [0.17, 0.31, 0.22, 0.25, 0.19]})
    >>> judge(Tolerance(tol=0.1), data, 400, rng_for("doc")).verdict
    'holds'
    """

    tol: float
    control_name: str = "the control"
    ci: float = 0.95
    against: str = "violated"
    name: str = "tolerance"

    def predicted(self) -> dict:
        return {"at_most": self.tol}

    def describe(self) -> str:
        return (f"per-seed values; their mean with a {100 * self.ci:g}% Student t interval over seeds, against the "
                f"tolerance {_fmt(self.tol)}")

    def contradiction(self) -> str:
        return f"the interval lies wholly above {_fmt(self.tol)}: {self.against}; it holds {_fmt(self.tol)}: inconclusive"

    def _numbers(self, data: Values) -> dict:
        out = {"tol": self.tol}
        control = np.asarray(data.extra.get("control", []), dtype=float)
        if control.size >= 2:
            _, lo, hi = t_bounds(control[None, :], self.ci)
            out["control_" + ci_key(self.ci)] = [float(lo[0]), float(hi[0])]
        return out

    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.where(hi < self.tol, "holds", np.where(lo > self.tol, self.against, "inconclusive")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        return [Hypothesis("boundary", f"mean exactly the tolerance {_fmt(self.tol)}, the seeds' own spread",
                           _draw(data, self.tol), frozenset({"holds", self.against}))]

    def alternative(self, data: Values) -> Hypothesis:
        control = Values(data.extra.get("control", ()))
        centre = float(control.finite.mean()) if control.finite.size else self.tol
        return Hypothesis("control", f"{self.control_name}: its per-seed values (mean {_fmt(centre)}) with their own spread",
                          _draw(control, centre) if control.finite.size >= 2 else _draw(data, centre),
                          targets=frozenset({self.against}))


@dataclass(frozen=True)
class Equivalence(_OnInterval):
    """Two things that should agree within ±``margin``: ``consistent`` if the t interval lies inside
    [-margin, margin], the claim's ``against`` if it lies wholly outside, ``inconclusive`` if it straddles an end.

    Nulls: mean exactly +margin and -margin; errors both decisive verdicts. Alternative: mean 2 x margin,
    detected as against.

    Examples
    --------
    >>> import math
    >>> from verification.rules import Equivalence, Values, judge, rng_for
    >>> data = Values([0.08, 0.03, -0.11, 0.005, -0.02])
    >>> judge(Equivalence(margin=math.log(1.25)), data, 400, rng_for("doc")).verdict
    'consistent'
    """

    margin: float
    ci: float = 0.95
    against: str = "mechanism-not-observed"
    name: str = "equivalence"

    def predicted(self) -> dict:
        return {"within": self.margin}

    def describe(self) -> str:
        return (f"per-seed values; their mean with a {100 * self.ci:g}% Student t interval over seeds, against "
                f"+-{_fmt(self.margin)}")

    def contradiction(self) -> str:
        return f"the interval lies wholly outside +-{_fmt(self.margin)}: {self.against}; it straddles an end: inconclusive"

    def _numbers(self, data: Values) -> dict:
        return {"margin": self.margin}

    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        inside = (lo >= -self.margin) & (hi <= self.margin)
        outside = (hi < -self.margin) | (lo > self.margin)
        out = np.where(inside, "consistent", np.where(outside, self.against, "inconclusive")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        return [Hypothesis(name, f"mean exactly {_fmt(v)} (an end of the margin), the seeds' own spread",
                           _draw(data, v), frozenset({"consistent", self.against}))
                for name, v in (("upper end", self.margin), ("lower end", -self.margin))]

    def alternative(self, data: Values) -> Hypothesis:
        return Hypothesis("outside", f"mean {_fmt(2 * self.margin)} (twice the margin), the seeds' own spread",
                          _draw(data, 2 * self.margin), targets=frozenset({self.against}))
