"""The :class:`Bound` container: named sympy terms, defaults, hypotheses and cached numeric evaluation."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.validation import Range, as_float_arrays, check

@functools.lru_cache(maxsize=256)
def _lambdify(parameters: tuple[sp.Symbol, ...], expr: sp.Expr) -> object:
    # Shared by every Bound with the same expression (e.g. after with_constants): lambdify once.
    return sp.lambdify(parameters, expr, modules="numpy")


LHS_LATEX = r"\mathrm{KL}(p_0 \,\|\, p_{0,\hat{\theta}_n(\tau)}) \lesssim "


@dataclass(frozen=True)
class Bound:
    """An upper bound on KL(p0 ‖ p_{0,θ̂_n(τ)}) written as a sum of named terms.

    Attributes
    ----------
    name : str
        E.g. ``"Theorem 1 (simplified)"``; used in error messages.
    term_items : tuple of (name, sympy expression)
        The terms in the paper's order; each carries its hidden constant ``c_*`` as a symbol.
    conditions : tuple of Range
        Domain conditions (always enforced) and the theorem's hypotheses (see :attr:`hypotheses`).
    default_items : tuple of (symbol, float)
        Values used for every parameter the caller leaves out (:data:`bounds.symbols.DEFAULTS`).
    required : tuple of symbols
        Parameters without a default (n, m, tau, and mu for Theorem 2).
    """

    name: str
    term_items: tuple[tuple[str, sp.Expr], ...]
    conditions: tuple[Range, ...]
    default_items: tuple[tuple[sp.Symbol, float], ...]
    required: tuple[sp.Symbol, ...]

    @property
    def terms(self) -> dict[str, sp.Expr]:
        """Term name → sympy expression, in the paper's order."""
        return dict(self.term_items)

    @property
    def expr(self) -> sp.Expr:
        """The whole bound: the sum of :attr:`terms`."""
        return sp.Add(*(e for _, e in self.term_items))

    @property
    def defaults(self) -> dict[sp.Symbol, float]:
        return dict(self.default_items)

    @property
    def hypotheses(self) -> tuple[Range, ...]:
        """The theorem's hypotheses (the conditions ``check_hypotheses=False`` relaxes)."""
        return tuple(c for c in self.conditions if not c.is_domain)

    @property
    def constants(self) -> tuple[sp.Symbol, ...]:
        """The hidden constants of ≲ appearing in this bound."""
        return tuple(c for c in S.CONSTANTS if c in self.expr.free_symbols)

    @functools.cached_property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Every parameter :meth:`evaluate` accepts, sorted by name."""
        used = set(self.expr.free_symbols) | set(self.required) | {s for s, _ in self.default_items}
        used |= {S.BY_NAME[c.param] for c in self.conditions}
        return tuple(sorted(used, key=lambda s: s.name))

    def with_constants(self, constants: Mapping[str, float]) -> Bound:
        """The same bound with other default values of its hidden constants (e.g. fitted ones)."""
        names = {c.name for c in self.constants}
        unknown = sorted(set(constants) - names)
        if unknown:
            raise ValueError(f"constants: unknown name {unknown[0]!r} for {self.name}; valid: {sorted(names)}")
        checked = as_float_arrays(constants)
        check(checked, [Range(k, low=0.0) for k in checked], context=self.name)
        new = {S.BY_NAME[k]: float(v) for k, v in checked.items()}
        return replace(self, default_items=tuple((s, new.get(s, v)) for s, v in self.default_items))

    def resolve(self, check_hypotheses: bool = True, **values: object) -> dict[str, np.ndarray]:
        """Defaults merged with ``values``, converted to float arrays and checked.

        Raises
        ------
        ValueError
            For an unknown or missing parameter, a non-finite value, a value outside the formula's
            domain, or (unless ``check_hypotheses=False``, which warns) outside the theorem's hypotheses.
        """
        accepted = {s.name for s in self.parameters}
        unknown = sorted(set(values) - accepted)
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} for {self.name}; valid: {sorted(accepted)}")
        missing = [s.name for s in self.required if s.name not in values]
        if missing:
            raise ValueError(f"{missing[0]} is required by {self.name} (no default); pass {missing[0]}=...")
        merged = {s.name: v for s, v in self.default_items} | dict(values)
        arrays = as_float_arrays(merged)
        check(arrays, self.conditions, check_hypotheses=check_hypotheses, context=self.name)
        return arrays

    @functools.cached_property
    def _functions(self) -> tuple[object, dict[str, object]]:
        # Lambdified once per expression; numpy broadcasting does the vectorisation.
        whole = _lambdify(self.parameters, self.expr)
        parts = {k: _lambdify(self.parameters, e) for k, e in self.term_items}
        return whole, parts

    @functools.cached_property
    def _dtau(self) -> object:
        return _lambdify(self.parameters, sp.diff(self.expr, S.tau))

    def _call(self, fn: object, arrays: Mapping[str, np.ndarray]) -> float | np.ndarray:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        out = np.broadcast_to(np.asarray(fn(*(arrays[s.name] for s in self.parameters)), dtype=float), shape)
        return float(out) if out.ndim == 0 else out.copy()

    def evaluate_resolved(self, arrays: Mapping[str, np.ndarray]) -> float | np.ndarray:
        """The bound at values already returned by :meth:`resolve` (no further checks)."""
        return self._call(self._functions[0], arrays)

    def dtau_resolved(self, arrays: Mapping[str, np.ndarray]) -> float | np.ndarray:
        """d(bound)/dτ at values already returned by :meth:`resolve` (used by early stopping)."""
        return self._call(self._dtau, arrays)

    def evaluate(self, check_hypotheses: bool = True, **values: object) -> float | np.ndarray:
        """The bound at ``values`` (scalars or broadcastable arrays); a float for scalar input."""
        return self.evaluate_resolved(self.resolve(check_hypotheses, **values))

    def evaluate_terms(self, check_hypotheses: bool = True, **values: object) -> dict[str, float | np.ndarray]:
        """Each term at ``values``, broadcast to the common shape."""
        arrays = self.resolve(check_hypotheses, **values)
        return {k: self._call(fn, arrays) for k, fn in self._functions[1].items()}

    def latex(self) -> str:
        """LaTeX of the whole bound, terms in the paper's order."""
        body = " + ".join(sp.latex(e, symbol_names=S.LATEX_NAMES) for _, e in self.term_items)
        return LHS_LATEX + body

    def latex_terms(self) -> dict[str, str]:
        """LaTeX of each term."""
        return {k: sp.latex(e, symbol_names=S.LATEX_NAMES) for k, e in self.term_items}
