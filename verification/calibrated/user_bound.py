"""Any user's bound through the paper's test (docs/theory.md §8.3): ``diffgen calibrate --bound EXPR`` and
:func:`calibrate_bound`.

The expression is a sympy expression, linear in its constants, in the variables

- n, m, tau, mu, d: the sizes of a measurement (d = 1 on the theorems' 1-D targets);
- L_star, L_bar, KL_T, norm2: its measured L̃(θ*), L̃(θ̄*) (the nested model's estimate), KL(p_T‖π) and the
  squared norm the paper's 1/τ term uses,

and constants named C followed by letters, digits or underscores (``C1*tau**4/(m*n) + C2/tau + C3*mu**2/m``).
A term without a constant is an offset with constant 1 (the paper's bounds add KL_T so). The bound is fitted on
the calibration design that ``diffgen calibrate --theorem T`` stored (Theorem 2's two-mode design by default,
``target="bump"`` for Theorem 1's), tested on held-out draws measured through the result store (a second
expression on the same draws costs seconds), and judged by the rule of the paper's bounds
(:class:`verification.rules.Fitted`): verdict, constants, identified terms, size and power against the
theorem's named negative controls.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import sympy as sp

from . import heldout
from .bound_test import Shape

VARIABLES = ("n", "m", "tau", "mu", "d", "L_star", "L_bar", "KL_T", "norm2")
_CONSTANT = re.compile(r"^C[A-Za-z0-9_]*$")
TARGETS = {"gm": 2, "bump": 1}


def parse_bound(text: str, flag: str = "--bound") -> Shape:
    """The bound ``text`` as a :class:`verification.calibrated.bound_test.Shape` (one column per constant, the rest the
    offset); ValueError naming ``flag`` for a bad expression.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.calibrated.user_bound import parse_bound
    >>> s = parse_bound("C1*tau**4/(m*n) + C2/tau + KL_T")
    >>> s.names
    ('C1', 'C2')
    >>> v = {"n": np.array([10.0]), "m": np.array([10.0]), "tau": np.array([2.0]), "KL_T": np.array([0.5])}
    >>> T, offset = s.matrix(v)
    >>> T.tolist(), offset.tolist()
    ([[0.16, 0.5]], [0.5])
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{flag}: give a sympy expression such as 'C1*tau**4/(m*n) + C2/tau'")
    symbols = {name: sp.Symbol(name, positive=True) for name in VARIABLES}
    try:
        expr = sp.sympify(text, locals=symbols, rational=False)
    except (sp.SympifyError, SyntaxError, TypeError, ValueError) as err:
        raise ValueError(f"{flag}: not an expression ({str(err).splitlines()[0]})") from None
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"{flag}: not an expression: {text!r}")
    free = {s.name: s for s in expr.free_symbols}
    constants = sorted(n for n in free if _CONSTANT.match(n))
    unknown = sorted(n for n in free if n not in VARIABLES and n not in constants)
    if unknown:
        raise ValueError(f"{flag}: unknown symbol(s) {', '.join(unknown)}; the variables are {', '.join(VARIABLES)} "
                         "and constants are named C1, C2, ... (a C and letters, digits or underscores)")
    if not constants:
        raise ValueError(f"{flag}: no constant to fit: name them C1, C2, ...")
    cs = [free[c] for c in constants]
    columns, rest = [], sp.expand(expr)
    for c in cs:
        coefficient = sp.simplify(sp.diff(expr, c))
        if coefficient.free_symbols & set(cs):
            raise ValueError(f"{flag}: the bound must be linear in its constants, {c} is not")
        columns.append((c.name, _numeric(coefficient, symbols, flag)))
        rest = rest.subs(c, 0)
    offset = _numeric(sp.simplify(rest), symbols, flag)
    return Shape(text, tuple(columns), offset)


def _numeric(expr: sp.Expr, symbols: dict, flag: str):
    """A numpy function of the variables dict for ``expr``."""
    used = sorted(s.name for s in expr.free_symbols)
    f = sp.lambdify([symbols[u] for u in used], expr, "numpy")

    def column(v):
        try:
            args = [np.asarray(v[u], dtype=float) for u in used]
        except KeyError as err:
            raise ValueError(f"{flag}: the points carry no variable {err.args[0]!r}") from None
        with np.errstate(all="ignore"):
            return np.asarray(f(*args), dtype=float) * np.ones_like(np.asarray(v["n"], dtype=float))

    return column


def check_on(shape: Shape, v: dict, flag: str = "--bound") -> None:
    """ValueError naming ``flag`` unless every column and the offset are finite and >= 0 at the points ``v``."""
    T, offset = shape.matrix(v)
    for j, name in enumerate(shape.names):
        col = T[:, j]
        if not np.all(np.isfinite(col)):
            raise ValueError(f"{flag}: the term of {name} is not finite at some design point")
        if np.any(col < 0):
            raise ValueError(f"{flag}: the term of {name} is negative at some design point (a bound's terms are >= 0)")
    if not np.all(np.isfinite(offset)):
        raise ValueError(f"{flag}: the offset (the terms without a constant) is not finite at some design point")


def calibrate_bound(expr: str, target: str = "gm", draws: int = 24, store: str | Path | None = None,
                    replicates: int = 100, runner=None, flag: str = "--bound") -> dict:
    """Fit, threshold and test the bound ``expr`` as the paper's bounds are tested; the result as a dict.

    Parameters
    ----------
    expr : str
        The bound (module docstring).
    target : {"gm", "bump"}
        Theorem 2's two-mode design and held-out draws, or Theorem 1's compactly supported bumps.
    draws : int
        Held-out draws (measured through the store; 24 as the full report).
    store : path, optional
        The result store of the held-out measurements (default .cache/calibration).
    replicates : int
        Replicates of the size simulation.

    Returns
    -------
    dict with ``verdict``, ``raw_verdict``, ``reason``, ``constants``, ``identified``, ``size``, ``power``,
    ``threshold``, ``draws_above``, ``held_out_draws``, ``p_value`` and ``controls``.
    """
    from ..store.cache import ResultCache
    from ..claims.registry import CLAIMS
    from ..rules import FittedData, judge, rng_for
    from ..store.runner import Runner

    if target not in TARGETS:
        raise ValueError(f"--target must be one of {sorted(TARGETS)}, got {target!r}")
    if not isinstance(draws, int) or isinstance(draws, bool) or not 2 <= draws <= 1000:
        raise ValueError(f"--draws must be an integer in [2, 1000], got {draws!r}")
    theorem = TARGETS[target]
    shape = parse_bound(expr, flag)
    design = heldout.design_points(theorem, heldout.load(theorem))
    if design is None:
        raise ValueError(f"the Theorem {theorem} constants file stores no measured design points: run diffgen "
                         f"calibrate --theorem {theorem}")
    check_on(shape, design.v, flag)
    runner = runner or Runner(ResultCache(Path(store or ".cache/calibration")), show_progress=False)
    results = runner.run_all(heldout.heldout_design(theorem, draws), f"held-out draws, Theorem {theorem}")
    held, dropped = heldout.held_points(theorem, results)
    data = FittedData(shape, design, held, heldout.control_shapes(theorem), heldout.no_generalisation_shape(theorem),
                      (), {"excluded_truncated_K2": dropped}, replicates)
    j = judge(CLAIMS[f"calibrated-bound-theorem{theorem}"].rule, data, 0, rng_for(expr))
    s = j.statistic
    return {"bound": expr, "target": target, "theorem_design": theorem, "verdict": j.verdict, "raw_verdict": j.raw,
            "reason": j.reason, "constants": s.get("constants"), "identified": s.get("identified"),
            "size": j.size, "power": j.power, "threshold": s.get("threshold"), "draws_above": s.get("draws_above"),
            "held_out_draws": s.get("held_out_draws"), "p_value": s.get("p_value"), "controls": s.get("controls"),
            "alternative": j.alternative}
