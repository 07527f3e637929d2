"""The :class:`Bound` container: named sympy terms, defaults, hypotheses and cached numeric evaluation.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Theorems 1 and 2 (the bounds this container holds; built by
:func:`bounds.theorem1.theorem1` and :func:`bounds.theorem2.theorem2`). docs/theory.md §5 and §6;
hidden constants, docs/theory.md §8.3.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.validation import Range, as_float_arrays, check, check_finite

@functools.lru_cache(maxsize=256)
def _lambdify(parameters: tuple[sp.Symbol, ...], expr: sp.Expr) -> object:
    # Shared by every Bound with the same expression (e.g. after with_constants): lambdify once.
    # Logs expanded (log(1/delta**2) -> -2 log(delta)): 1/delta**2 overflows for delta < 1e-154.
    return sp.lambdify(parameters, sp.expand_log(expr, force=True), modules="numpy")


LHS_LATEX = r"\mathrm{KL}(p_0 \,\|\, p_{0,\hat{\theta}_n(\tau)}) \lesssim "


def _check_broadcast(arrays: Mapping[str, np.ndarray]) -> None:
    """ValueError naming the first two parameters whose shapes do not broadcast together (shapes that fail
    together always fail in some pair: two different sizes > 1 on one axis)."""
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
        return
    except ValueError:
        pass
    seen: dict[str, tuple[int, ...]] = {}
    for name, a in arrays.items():
        for other, shape in seen.items():
            try:
                np.broadcast_shapes(shape, a.shape)
            except ValueError:
                raise ValueError(f"{other} has shape {shape} and {name} has shape {a.shape}: arrays of "
                                 "parameters must broadcast together (numpy rules)") from None
        seen[name] = a.shape


@dataclass(frozen=True)
class Bound:
    """An upper bound on KL(p0 ‖ p_{0,θ̂_n(τ)}) written as a sum of named terms.

    Built by :func:`~bounds.theorem1.theorem1` and :func:`~bounds.theorem2.theorem2`; frozen, so
    :meth:`with_constants` returns a new bound. Each parameter below is stored as the attribute of
    the same name.

    Parameters
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

    References
    ----------
    Theorems 1 and 2 of the paper (module References); docs/theory.md §5 and §6.

    Examples
    --------
    >>> from bounds import theorem1
    >>> bound = theorem1()
    >>> bound.name
    'Theorem 1 (simplified)'
    >>> [s.name for s in bound.required]
    ['n', 'm', 'tau']
    >>> [c.param for c in bound.hypotheses]
    ['n', 'm', 'tau', 'd']
    """

    name: str
    term_items: tuple[tuple[str, sp.Expr], ...]
    conditions: tuple[Range, ...]
    default_items: tuple[tuple[sp.Symbol, float], ...]
    required: tuple[sp.Symbol, ...]

    @property
    def terms(self) -> dict[str, sp.Expr]:
        """Term name → sympy expression, in the paper's order (a new dict on each access)."""
        return dict(self.term_items)

    @property
    def expr(self) -> sp.Expr:
        """The whole bound: the sum of :attr:`terms`."""
        return sp.Add(*(e for _, e in self.term_items))

    @property
    def defaults(self) -> dict[sp.Symbol, float]:
        """Symbol → default value of every parameter that has one (:data:`bounds.symbols.DEFAULTS`)."""
        return dict(self.default_items)

    @property
    def hypotheses(self) -> tuple[Range, ...]:
        """The theorem's hypotheses (the conditions ``check_hypotheses=False`` relaxes).

        E.g. n, m, τ (, d) ≥ 1 for both theorems and µ > √log(1/δ²) for Theorem 2
        (docs/theory.md §5 and §6); the domain conditions (δ ∈ (0, 1), positivity) are not included.
        """
        return tuple(c for c in self.conditions if not c.is_domain)

    @property
    def constants(self) -> tuple[sp.Symbol, ...]:
        """The hidden constants of ≲ (``c_*`` symbols) appearing in this bound (docs/theory.md §8.3)."""
        return tuple(c for c in S.CONSTANTS if c in self.expr.free_symbols)

    @functools.cached_property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Every parameter :meth:`evaluate` accepts, sorted by name."""
        used = set(self.expr.free_symbols) | set(self.required) | {s for s, _ in self.default_items}
        used |= {S.BY_NAME[c.param] for c in self.conditions}
        return tuple(sorted(used, key=lambda s: s.name))

    def with_constants(self, constants: Mapping[str, float]) -> Bound:
        """The same bound with other default values of its hidden constants (e.g. fitted ones).

        Parameters
        ----------
        constants : mapping of str to float
            Name of a hidden constant of this bound (one of :attr:`constants`, e.g. ``"c_opt"``) →
            its new default, a finite number ≥ 0. Constants not listed keep their defaults.

        Returns
        -------
        Bound
            A new bound; ``self`` is unchanged. A value passed to :meth:`evaluate` still overrides it.

        Raises
        ------
        ValueError
            For a name that is not a hidden constant of this bound, or a negative or non-finite value.

        References
        ----------
        The constants hidden by ≲ in Theorems 1 and 2 of the paper; fitted as in docs/theory.md §8.3.

        Examples
        --------
        Doubling c_opt doubles the optimisation term 1/τ of Theorem 1 and nothing else:

        >>> from bounds import theorem1
        >>> bound = theorem1()
        >>> fitted = bound.with_constants({"c_opt": 2.0})
        >>> round(fitted.evaluate_terms(n=1000, m=1000, tau=10)["opt"], 6)
        0.2
        >>> round(bound.evaluate_terms(n=1000, m=1000, tau=10)["opt"], 6)
        0.1
        >>> bound.with_constants({"c_foo": 1.0})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: constants: unknown name 'c_foo' for Theorem 1 (simplified); valid: ['c_app_bar', ...]
        """
        if not isinstance(constants, Mapping):
            raise ValueError(f"constants must be a mapping of name to value, got {type(constants).__name__}")
        names = {c.name for c in self.constants}
        unknown = sorted(set(map(str, constants)) - names)
        if unknown:
            raise ValueError(f"constants: unknown name {unknown[0]!r} for {self.name}; valid: {sorted(names)}")
        checked = as_float_arrays(constants)
        check(checked, [Range(k, low=0.0) for k in checked], context=self.name)
        new = {S.BY_NAME[k]: float(v) for k, v in checked.items()}
        return replace(self, default_items=tuple((s, new.get(s, v)) for s, v in self.default_items))

    def resolve(self, check_hypotheses: bool = True, **values: object) -> dict[str, np.ndarray]:
        """Defaults merged with ``values``, converted to float arrays and checked.

        Parameters
        ----------
        check_hypotheses : bool, default True
            If False, a violated hypothesis of the theorem warns (:class:`~bounds.validation.HypothesisWarning`)
            instead of raising; the formula's domain is always enforced.
        **values : float or array_like
            Parameter name (one of :attr:`parameters`) → value; every :attr:`required` one must be given.

        Returns
        -------
        dict of str to ndarray
            Every parameter with a default or a given value, as float arrays (not yet broadcast).

        Raises
        ------
        ValueError
            For an unknown or missing parameter, a non-finite value, a value outside the formula's
            domain, or (unless ``check_hypotheses=False``, which warns) outside the theorem's hypotheses.

        References
        ----------
        Hypotheses of Theorems 1 and 2 of the paper; docs/theory.md §5 and §6.
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
        _check_broadcast(arrays)
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
        with np.errstate(all="ignore"):  # an overflow is refused by check_finite, not warned about
            value = fn(*(arrays[s.name] for s in self.parameters))
        out = np.broadcast_to(np.asarray(value, dtype=float), shape)
        return float(out) if out.ndim == 0 else out.copy()

    def evaluate_resolved(self, arrays: Mapping[str, np.ndarray]) -> float | np.ndarray:
        """The bound at values already returned by :meth:`resolve` (no further checks).

        Parameters
        ----------
        arrays : mapping of str to ndarray
            Output of :meth:`resolve`, possibly with some entries replaced (e.g. ``tau``).

        Returns
        -------
        float or ndarray
            A float for scalar inputs, else an array of the broadcast shape.

        Raises
        ------
        ValueError
            If the bound overflows a double (:func:`~bounds.validation.check_finite`).
        """
        out = self._call(self._functions[0], arrays)
        check_finite(out, "the bound", self.name, arrays)
        return out

    def dtau_resolved(self, arrays: Mapping[str, np.ndarray]) -> float | np.ndarray:
        """d(bound)/dτ at values already returned by :meth:`resolve` (used by early stopping).

        Parameters
        ----------
        arrays : mapping of str to ndarray
            Output of :meth:`resolve`, possibly with ``tau`` replaced.

        Returns
        -------
        float or ndarray
            The derivative in τ, a float for scalar inputs, else an array of the broadcast shape.
        """
        return self._call(self._dtau, arrays)

    def evaluate(self, check_hypotheses: bool = True, **values: object) -> float | np.ndarray:
        """The bound at ``values`` (scalars or broadcastable arrays); a float for scalar input.

        Parameters
        ----------
        check_hypotheses : bool, default True
            If False, evaluate outside the theorem's hypotheses (e.g. τ < 1) with a
            :class:`~bounds.validation.HypothesisWarning` instead of a ``ValueError``.
        **values : float or array_like
            ``n``, ``m``, ``tau`` (each ≥ 1), ``mu`` for Theorem 2 (> √log(1/δ²)), and optionally any
            other parameter of :attr:`parameters`: ``delta`` in (0, 1), ``d`` ≥ 1, ``T`` > 0, and the
            hidden constants and measured inputs (each ≥ 0). Omitted ones take :attr:`defaults`.

        Returns
        -------
        float or ndarray
            The sum of the terms; a float for scalar input, else an array of the broadcast shape.

        Raises
        ------
        ValueError
            Naming the parameter: unknown or missing, not a finite real number (bools and strings
            included), outside the formula's domain or the calculator's limits
            (:data:`bounds.validation.LIMITS`), or (unless ``check_hypotheses=False``) outside the
            theorem's hypotheses; or if the result overflows a double (never returned as inf/NaN).

        References
        ----------
        Theorems 1 and 2 of the paper (module References); docs/theory.md §5 and §6.

        Examples
        --------
        Theorem 1 in τ at n = m = 1000: the bound falls (1/τ), then rises (τ⁴/(mn)), the shape that
        motivates early stopping:

        >>> import numpy as np
        >>> from bounds import theorem1
        >>> bound = theorem1()
        >>> bound.evaluate(n=1000, m=1000, tau=np.array([1.0, 10.0, 100.0])).round(6).tolist()
        [1.001002, 0.112, 101.011]

        Outside the hypotheses it raises, or warns on request:

        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     value = bound.evaluate(check_hypotheses=False, n=1000, m=1000, tau=0.5)
        >>> [w.category.__name__ for w in caught]
        ['HypothesisWarning']
        """
        return self.evaluate_resolved(self.resolve(check_hypotheses, **values))

    def evaluate_terms(self, check_hypotheses: bool = True, **values: object) -> dict[str, float | np.ndarray]:
        """Each term at ``values``, broadcast to the common shape.

        Parameters
        ----------
        check_hypotheses : bool, default True
            As in :meth:`evaluate`.
        **values : float or array_like
            As in :meth:`evaluate`.

        Returns
        -------
        dict of str to float or ndarray
            Term name → value, in the paper's order; the values sum to :meth:`evaluate`.

        Raises
        ------
        ValueError
            As in :meth:`evaluate`.

        References
        ----------
        The terms of Theorems 1 and 2 of the paper: generalisation gap, optimisation error,
        random-feature error, approximation errors and prior mismatch (docs/theory.md §3 and §5).

        Examples
        --------
        >>> from bounds import theorem1
        >>> terms = theorem1().evaluate_terms(n=1000, m=1000, tau=10)
        >>> {name: round(value, 6) for name, value in terms.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'gen_mn': 0.01, 'gen_m2': 0.001, 'opt': 0.1, 'rf': 0.001,
         'approx_bar': 0.0, 'approx_star': 0.0, 'prior': 0.0}
        >>> round(sum(terms.values()), 6)
        0.112
        """
        arrays = self.resolve(check_hypotheses, **values)
        out = {k: self._call(fn, arrays) for k, fn in self._functions[1].items()}
        for k, v in out.items():
            check_finite(v, f"the term {k!r}", self.name, arrays)
        return out

    def latex(self) -> str:
        """LaTeX of the whole bound, terms in the paper's order.

        Returns
        -------
        str
            ``KL(p_0 ‖ p_{0,θ̂_n(τ)}) ≲`` followed by the terms joined by ``+``.
        """
        body = " + ".join(sp.latex(e, symbol_names=S.LATEX_NAMES) for _, e in self.term_items)
        return LHS_LATEX + body

    def latex_terms(self) -> dict[str, str]:
        """LaTeX of each term.

        Returns
        -------
        dict of str to str
            Term name → LaTeX, in the paper's order.
        """
        return {k: sp.latex(e, symbol_names=S.LATEX_NAMES) for k, e in self.term_items}
