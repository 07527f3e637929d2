"""A compactly supported, continuously differentiable 1-D target for Theorem 1 (docs/theory.md §5).

p0(x) = Σ_l q_l B((x - c_l)/s_l)/s_l with the bump B(y) = Z_k (1 - y²)^k on [-1, 1] (k >= 2, so p0 is C¹
and its Fisher information is finite). Under the linear SDE (2) a component is X_t = μ + ρ Y + σ ε with
μ = r c_l, ρ = r s_l, σ = σ_t, Y ~ B, ε ~ N(0, 1). Every quantity is an integral over the noise ε
restricted to the window where Y = (x - μ - σε)/ρ ∈ [-1, 1]; there the integrand is a polynomial in ε
times φ(ε), so Gauss-Legendre on that window is accurate for every t > 0, however narrow the kernel:
    p_t(x) = Σ q/ρ ∫ φ(ε) B(y(ε)) dε,   p_t^{(n)}(x) = Σ q/ρ^{n+1} ∫ φ(ε) B^{(n)}(y(ε)) dε.
Partial moments use the closed-form partial moments of B in y; t = 0 is the closed form itself.

References
----------
arXiv:2311.01797, Theorem 1 (compactly supported C¹ p0) and kernel (8); docs/theory.md §5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import Polynomial
from scipy import special

from ..quadrature import gauss_legendre, gl_panels
from ..sde import LinearSDE, ou
from .memo import memoised

_WINDOW = 120.0
"""The ε-window around the point c nearest 0 is cut where e^{-(ε² - c²)/2} < e^{-60}."""
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _bump_polynomials(k: int) -> tuple[Polynomial, ...]:
    """B, B', B'' and the partial moments P_a(y) = ∫_{-1}^y v^a B(v) dv for a = 0, 1, 2."""
    B = Polynomial([1.0, 0.0, -1.0]) ** k
    B = B / (B.integ()(1.0) - B.integ()(-1.0))
    y = Polynomial([0.0, 1.0])
    partial = tuple((y**a * B).integ(lbnd=-1.0) for a in range(3))
    return (B, B.deriv(), B.deriv(2)) + partial


def _window(a: np.ndarray, b: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GL nodes/weights on [a, b] cut to where φ is not negligible, with φ scaled by e^{c²/2}.

    Returns nodes (..., order), weights including e^{-(ε² - c²)/2}, and c (the point of [a, b] nearest 0).
    """
    c = np.clip(0.0, a, b)
    half = np.sqrt(c * c + _WINDOW) - np.abs(c)
    lo, hi = np.maximum(a, c - half), np.minimum(b, c + half)
    x, w = gauss_legendre(order)
    mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
    eps = mid[..., None] + rad[..., None] * x
    weights = rad[..., None] * w * np.exp(-0.5 * (eps * eps - (c * c)[..., None]))
    return eps, weights, c


@dataclass(frozen=True, eq=False)
class Bump1D:
    """Mixture of scaled bumps Σ q_l B((x - c_l)/s_l)/s_l diffused by ``sde``.

    Parameters
    ----------
    centers, scales, weights : 1-D arrays of equal length
        Finite; scales > 0, weights > 0 summing to 1.
    k : int, default 2
        The bump exponent, >= 2.
    sde : LinearSDE
        Forward process (2); OU with T = 5 by default.
    order : int, default 96
        Gauss-Legendre nodes on each ε-window, >= 16.
    name : str, default "bump"
        Used in reports.

    Raises
    ------
    ValueError
        If an argument is outside the range above. Methods raise it for t outside [0, T], and
        the score for points outside the support at t = 0.
    """

    centers: np.ndarray
    scales: np.ndarray
    weights: np.ndarray
    k: int = 2
    sde: LinearSDE = field(default_factory=ou)
    order: int = 96
    name: str = "bump"

    dim = 1

    def __post_init__(self) -> None:
        c = np.atleast_1d(np.asarray(self.centers, dtype=float))
        s = np.broadcast_to(np.asarray(self.scales, dtype=float), c.shape).copy()
        q = np.broadcast_to(np.asarray(self.weights, dtype=float), c.shape).copy()
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(s)) and np.all(np.isfinite(q))):
            raise ValueError("centers, scales and weights must be finite")
        if np.any(s <= 0):
            raise ValueError(f"scales must be > 0, got {s!r}")
        if np.any(q <= 0) or not np.isclose(q.sum(), 1.0, rtol=0, atol=1e-9):
            raise ValueError(f"weights must be > 0 and sum to 1, got {q!r}")
        if not (isinstance(self.k, (int, np.integer)) and self.k >= 2):
            raise ValueError(f"k must be an integer >= 2 (C¹ density, finite Fisher information), got {self.k!r}")
        if not (isinstance(self.order, (int, np.integer)) and self.order >= 16):
            raise ValueError(f"order must be an integer >= 16, got {self.order!r}")
        object.__setattr__(self, "centers", c)
        object.__setattr__(self, "scales", s)
        object.__setattr__(self, "weights", q / q.sum())
        object.__setattr__(self, "_poly", _bump_polynomials(int(self.k)))

    def _params(self, t: float) -> tuple[np.ndarray, np.ndarray, float]:
        if not (np.isfinite(t) and 0.0 <= t <= self.sde.T):
            raise ValueError(f"t must be in [0, T] = [0, {self.sde.T}], got {t!r}")
        r = float(self.sde.r(t))
        return r * self.centers, r * self.scales, float(np.sqrt(self.sde.sigma2(t))) if t > 0 else 0.0

    def _derivs(self, t: float, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Log-scale ``s`` (N,) and J (n+1, N) with p_t^{(j)}(x) = e^{s} J_j for j = 0..n."""
        x = np.asarray(x, dtype=float)
        mu, rho, sig = self._params(t)
        z = x[..., None] - mu
        if sig == 0.0:
            y = z / rho
            inside = np.abs(y) <= 1.0
            terms = np.stack([np.where(inside, self._poly[j](y), 0.0) / rho ** (j + 1) for j in range(n + 1)])
            return np.zeros(x.shape), np.sum(self.weights * terms, axis=-1)
        eps, wts, c = _window((z - rho) / sig, (z + rho) / sig, self.order)
        y = np.clip((z[..., None] - sig * eps) / rho[:, None], -1.0, 1.0)
        logscale = np.log(self.weights) - np.log(rho) - 0.5 * c * c - _LOG_SQRT_2PI
        top = np.max(logscale, axis=-1)
        scale = np.exp(logscale - top[..., None])
        J = np.stack([np.sum(scale * np.sum(wts * self._poly[j](y), axis=-1) / rho**j, axis=-1) for j in range(n + 1)])
        return top, J

    def pdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """p_t(x) for t in [0, T] (0 outside the support at t = 0)."""
        s, J = self._derivs(t, x, 0)
        return np.exp(s) * J[0]

    def logpdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """log p_t(x) (-inf outside the support at t = 0)."""
        s, J = self._derivs(t, x, 0)
        with np.errstate(divide="ignore"):
            return s + np.log(J[0])

    def _positive(self, t: float, J0: np.ndarray) -> None:
        if np.any(J0 <= 0):
            raise ValueError(f"the score is undefined where p_t = 0 (outside the support at t = {t}); use t > 0 "
                             "or points inside the support")

    def score(self, t: float, x: np.ndarray) -> np.ndarray:
        """∇log p_t = p_t'/p_t."""
        _, J = self._derivs(t, x, 1)
        self._positive(t, J[0])
        return J[1] / J[0]

    def score_dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """d/dx of the score: p_t''/p_t - (p_t'/p_t)²."""
        _, J = self._derivs(t, x, 2)
        self._positive(t, J[0])
        return J[2] / J[0] - (J[1] / J[0]) ** 2

    def partial_moments(self, t: float, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F_j(z) = ∫_{-∞}^z x^j p_t(x) dx, j = 0, 1, 2.

        Per component X = μ + ρY + σε: X^j expands in powers of Y with coefficients in v = μ + σε,
        E[Y^a 1[Y <= y]] = P_a(y) is a polynomial, and for ε <= (z - μ - ρ)/σ (y >= 1) the Gaussian
        part is closed form; the remaining window is Gauss-Legendre in ε.
        """
        z = np.asarray(z, dtype=float)
        mu, rho, sig = self._params(t)
        P = self._poly[3:]
        moments = [p(1.0) for p in P]
        zc = z[..., None] - mu

        def expand(v: np.ndarray, g: np.ndarray, Pa: list[np.ndarray]) -> list[np.ndarray]:
            """(v + g Y)^j for j = 0, 1, 2 with E[Y^a 1[...]] = Pa[a]."""
            return [Pa[0], v * Pa[0] + g * Pa[1], v * v * Pa[0] + 2.0 * v * g * Pa[1] + g * g * Pa[2]]

        if sig == 0.0:
            y = np.clip(zc / rho, -1.0, 1.0)
            parts = expand(mu, rho, [p(y) for p in P])
            return tuple(np.sum(self.weights * f, axis=-1) for f in parts)
        e1 = np.clip((zc - rho) / sig, -40.0, 40.0)
        e2 = np.clip((zc + rho) / sig, -40.0, 40.0)
        cdf, pdf = special.ndtr(e1), np.exp(-0.5 * e1 * e1) / np.sqrt(2.0 * np.pi)
        gauss = [cdf, mu * cdf - sig * pdf, mu * mu * cdf - 2.0 * mu * sig * pdf + sig * sig * (cdf - e1 * pdf)]
        below = [gauss[0] * moments[0], gauss[1] * moments[0] + rho * gauss[0] * moments[1],
                 gauss[2] * moments[0] + 2.0 * rho * gauss[1] * moments[1] + rho**2 * gauss[0] * moments[2]]
        eps, wts, c = _window(e1, e2, self.order)
        wts = wts * np.exp(-0.5 * c * c)[..., None] / np.sqrt(2.0 * np.pi)
        y = np.clip((zc[..., None] - sig * eps) / rho[:, None], -1.0, 1.0)
        v = mu[..., None] + sig * eps
        middle = expand(v, rho[:, None], [p(y) for p in P])
        return tuple(np.sum(self.weights * (below[j] + np.sum(wts * middle[j], axis=-1)), axis=-1) for j in range(3))

    def cdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """P_{p_t}(X <= x) = F_0(x) of :meth:`partial_moments`."""
        return self.partial_moments(t, x)[0]

    def sample(self, n: int, rng: np.random.Generator, t: float = 0.0) -> np.ndarray:
        """n iid draws of x_t: x0 = c + s (2 Beta(k+1, k+1) - 1) exactly, then r x0 + σ_t ε."""
        mu, rho, sig = self._params(t)
        comp = rng.choice(self.weights.size, size=n, p=self.weights)
        y = 2.0 * rng.beta(self.k + 1, self.k + 1, size=n) - 1.0
        return mu[comp] + rho[comp] * y + sig * rng.standard_normal(n)

    def support(self, t: float = 0.0, tail: float = 12.0) -> tuple[float, float]:
        """The support of p0 mapped by r, widened by ``tail`` noise standard deviations."""
        mu, rho, sig = self._params(t)
        return float(np.min(mu - rho) - tail * sig), float(np.max(mu + rho) + tail * sig)

    def x_grid(self, t: float, max_panels: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
        """Composite 8-point Gauss-Legendre nodes and weights over ``support(t)``.

        Split at the component edges, with panels no wider than σ_t/4 (p_t varies on that scale
        near the edges); ValueError when more than ``max_panels`` panels are needed.
        """
        mu, rho, sig = self._params(t)
        lo, hi = self.support(t)
        breaks = np.unique(np.clip(np.concatenate([[lo, hi], mu - rho, mu + rho]), lo, hi))
        h = 0.25 * sig if sig > 0 else np.inf
        counts = [max(4, int(np.ceil((b - a) / h))) if np.isfinite(h) else 4 for a, b in zip(breaks[:-1], breaks[1:])]
        if sum(counts) > max_panels:
            raise ValueError(f"t = {t} needs {sum(counts)} x-panels (> max_panels = {max_panels}); use a larger t")
        parts = [gl_panels(a, b, n) for a, b, n in zip(breaks[:-1], breaks[1:], counts)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def fisher_information(self, t: float) -> float:
        """E_{p_t}|∇log p_t|² = ∫ p_t'²/p_t (finite also at t = 0 since k >= 2); memoised per process
        (:mod:`empirical.targets.memo`)."""
        t = float(t)
        return memoised(("bump-fisher", *self._key(t)), lambda: self._fisher(t))

    def _key(self, t: float) -> tuple:
        """The exact inputs of any functional of p_t (every sweep point with the same target shares them)."""
        mu, rho, sig = self._params(t)
        return mu.tobytes(), rho.tobytes(), sig, self.weights.tobytes(), int(self.k), int(self.order)

    def _fisher(self, t: float) -> float:
        x, w = self.x_grid(t)
        s, J = self._derivs(t, x, 1)
        keep = J[0] > 0
        return float(np.sum(w[keep] * np.exp(s[keep]) * J[1][keep] ** 2 / J[0][keep]))

    def kl_to_prior(self, t: float | None = None) -> float:
        """KL(p_t ‖ π), π = N(0, ``sde.prior_var``) (N(0, 1) for OU), on :meth:`x_grid`; t defaults to T."""
        t = self.sde.T if t is None else t
        x, w = self.x_grid(t)
        lp = self.logpdf(t, x)
        keep = np.isfinite(lp)
        v = self.sde.prior_var
        val = np.sum(w[keep] * np.exp(lp[keep]) * (lp[keep] + 0.5 * x[keep] ** 2 / v + 0.5 * np.log(v)
                                                   + _LOG_SQRT_2PI))
        return max(float(val), 0.0)


def bump(center: float = 0.0, scale: float = 1.0, k: int = 2, *, sde: LinearSDE | None = None) -> Bump1D:
    """The single bump Z_k (1 - ((x - center)/scale)²)^k / scale on [center - scale, center + scale].

    Parameters
    ----------
    center : float, default 0.0
        Centre, finite.
    scale : float, default 1.0
        Half-width, > 0.
    k : int, default 2
        Exponent, >= 2 (C¹ density, finite Fisher information).
    sde : LinearSDE, optional
        Forward process (2); OU with T = 5 by default.

    Returns
    -------
    Bump1D

    Raises
    ------
    ValueError
        If an argument is outside the range above.
    """
    return Bump1D(np.array([center]), np.array([scale]), np.array([1.0]), k, sde or ou())


def two_bumps(mu: float = 3.0, scale: float = 1.0, weights: tuple[float, float] = (0.5, 0.5), k: int = 2, *,
              sde: LinearSDE | None = None) -> Bump1D:
    """A bimodal compactly supported target: bumps at -mu and +mu (mu > scale, disjoint supports).

    The compact, C¹ target used to test Theorem 1 (docs/theory.md §5).

    Parameters
    ----------
    mu : float, default 3.0
        Centres ±mu, with mu > scale.
    scale : float, default 1.0
        Half-width of each bump, > 0.
    weights : (q1, q2), default (0.5, 0.5)
        Positive weights summing to 1; q1 weighs the bump at -mu.
    k : int, default 2
        Exponent of (1 - y²)^k, >= 2.
    sde : LinearSDE, optional
        Forward process (2); OU with T = 5 by default.

    Returns
    -------
    Bump1D
        Named "two_bumps".

    Raises
    ------
    ValueError
        If not mu > scale > 0 (both finite), or another argument is outside its range.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import two_bumps
    >>> p = two_bumps(1.5)
    >>> p.support(0.0)  # compact at t = 0: [-mu - scale, mu + scale]
    (-2.5, 2.5)
    >>> p.pdf(0.0, np.array([0.0, 1.5])).round(12).tolist()  # 0 between the bumps; ½·15/16 at a centre
    [0.0, 0.46875]
    >>> p.cdf(0.0, np.array([0.0, 2.5])).round(12).tolist()
    [0.5, 1.0]
    """
    if not (np.isfinite(mu) and np.isfinite(scale) and mu > scale > 0):
        raise ValueError(f"mu and scale must satisfy mu > scale > 0, got mu={mu!r}, scale={scale!r}")
    return Bump1D(np.array([-mu, mu]), np.array([scale, scale]), np.asarray(weights, dtype=float), k,
                  sde or ou(), name="two_bumps")
