"""Density of the probability-flow ODE (4) by the instantaneous change of variables (Remark 3).

Each start point x0 at t0 is carried forward by dx/dt = f x - ½ g² s_θ(t, x) to x(T), together
with ℓ(t) = ∫_{t0}^t [f - ½ g² ∂_x s_θ(u, x(u))] du = log ∂x(t)/∂x0. The ODE sampler, run from
x(T) ~ π backwards, has density log q(x0) = log π(x(T)) + ℓ(T) at t0 (docs/theory.md §4, K3),
π = N(0, v I) with v = ``sde.prior_var`` (1 for OU, σ_T² for VE).
All start points move as one system of (d + 1)N states.

In R^d (start points of shape (N, d)) the same holds with ∂_x s_θ replaced by the divergence ∇·s_θ
and the drift's divergence f by f·d: ℓ(t) = ∫ [f d - ½ g² ∇·s_θ] du = log det ∂x(t)/∂x0, and
π = N(0, v I_d). A score may offer ``score_and_dx(t, x)`` returning both at once (one evaluation of its
features instead of two); the flow then uses it.

In 1-D the flow map Φ: x0 ↦ x(T) is increasing, so the same change of variables also holds in
integrated form: the ODE law gives the cell [x0_j, x0_{j+1}] exactly the π-mass of
[Φ(x0_j), Φ(x0_{j+1})]. That form needs no ∂_x s_θ, whose jumps at ReLU kinks cost the
divergence form its time order (first order instead of four).

References
----------
arXiv:2311.01797, probability-flow ODE (4) and Remark 3; docs/theory.md §4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from ..scores import ScoreModel
from ..sde import LinearSDE

METHODS = ("rk4", "RK45", "DOP853", "Radau")
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass(frozen=True)
class FlowResult:
    """Start points ``x0``, their images ``xT`` at T and ``log_jac`` = log dxT/dx0 = ℓ(T).

    Attributes
    ----------
    x0, xT : ndarray of shape (N,), or (N, d)
        Start points at t0 and their images Φ(x0) at T.
    log_jac : ndarray of shape (N,) or None
        ℓ(T); None when the flow was run with ``divergence=False``.
    prior_var : float, default 1.0
        Variance v of the prior π = N(0, v I) at T (``sde.prior_var``: 1 for OU, σ_T² for VE).
    """

    x0: np.ndarray
    xT: np.ndarray
    log_jac: np.ndarray | None
    prior_var: float = 1.0

    @property
    def logq(self) -> np.ndarray:
        """log q^ODE(x0) = log π(x(T)) + ℓ(T) with π = N(0, v I_d), v = ``prior_var`` (Remark 3), shape (N,).

        Raises
        ------
        ValueError
            If ``log_jac`` is None.
        """
        if self.log_jac is None:
            raise ValueError("log_jac is None: run probability_flow with divergence=True")
        v = self.prior_var
        if self.xT.ndim == 1:
            return -0.5 * self.xT**2 / v - 0.5 * np.log(v) - _LOG_SQRT_2PI + self.log_jac
        d = self.xT.shape[1]
        return -0.5 * np.sum(self.xT**2, axis=1) / v - 0.5 * d * np.log(v) - d * _LOG_SQRT_2PI + self.log_jac

    def cell_masses(self) -> np.ndarray:
        """q^ODE-mass of each cell [x0_j, x0_{j+1}] = π-mass of [Φ(x0_j), Φ(x0_{j+1})].

        Computed on the tail side of 0 so that far cells keep their relative precision; a mass <= 0
        means that Φ is not increasing there. Returns shape (N - 1,) for increasing ``x0``.

        Raises
        ------
        ValueError
            If the flow is not 1-D (``x0`` of shape (N, d)).
        """
        if self.xT.ndim != 1:
            raise ValueError(f"cell_masses needs a 1-D flow (x0 of shape (N,)), got x0 of shape {self.x0.shape}")
        sd = float(np.sqrt(self.prior_var))
        a, b = self.xT[:-1] / sd, self.xT[1:] / sd
        return np.where(a > 0, special.ndtr(-a) - special.ndtr(-b), special.ndtr(b) - special.ndtr(a))


def _rhs(sde: LinearSDE, score: ScoreModel, t: float, x: np.ndarray,
         divergence: bool) -> tuple[np.ndarray, np.ndarray | float]:
    f, half_g2 = float(sde.f(t)), 0.5 * float(sde.g2(t))
    if x.ndim <= 1:
        return f * x - half_g2 * score(t, x), (f - half_g2 * score.dx(t, x)) if divergence else 0.0
    fused = getattr(score, "score_and_dx", None) if divergence else None
    s, div = fused(t, x) if fused is not None else (score(t, x), score.dx(t, x) if divergence else None)
    s = np.asarray(s, dtype=float)
    if s.shape != x.shape:
        if s.shape != x.shape[:1] or x.shape[1] != 1:
            raise ValueError(f"score must return shape {x.shape} for x of shape {x.shape}, got {s.shape}")
        s = s[:, None]  # a 1-D score returns (N,) for points (N, 1)
    if not divergence:
        return f * x - half_g2 * s, 0.0
    div = np.asarray(div, dtype=float)
    if div.shape != x.shape[:1]:
        if div.shape != x.shape or x.shape[1] != 1:
            raise ValueError(f"score.dx must return shape {x.shape[:1]} for x of shape {x.shape}, got {div.shape}")
        div = div[:, 0]  # a 1-D score's ∂_x s for points (N, 1)
    return f * x - half_g2 * s, f * x.shape[1] - half_g2 * div


def probability_flow(sde: LinearSDE, score: ScoreModel, x0: np.ndarray, t_nodes: np.ndarray,
                     method: str = "rk4", divergence: bool = True, rtol: float = 1e-8,
                     atol: float = 1e-10) -> FlowResult:
    """Integrate (4) and ℓ from ``t_nodes[0]`` to ``t_nodes[-1]`` for all ``x0`` at once.

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2), giving f and g of (4).
    score : ScoreModel
        The model score s_θ.
    x0 : array_like of shape (N,), or (N, d)
        Start points at ``t_nodes[0]``; shape (N, d) is a flow in R^d (``score(t, x)`` of shape (N, d),
        ``score.dx`` the divergence ∇·s of shape (N,)).
    t_nodes : ndarray
        Increasing times, at least 2 (see :func:`empirical.quadrature.time_steps`).
    method : {"rk4", "RK45", "DOP853", "Radau"}, default "rk4"
        'rk4' takes classical Runge–Kutta steps on ``t_nodes`` (4 score and 4 derivative
        evaluations a step); a ``solve_ivp`` method name ('RK45', 'DOP853', 'Radau') integrates
        adaptively with ``rtol``/``atol`` between the first and last node (a second method to
        check the first).
    divergence : bool, default True
        Integrate ℓ as well (needs ``score.dx``); False leaves ``log_jac`` None and halves the
        cost, for ``FlowResult.cell_masses``.
    rtol, atol : float, default 1e-8, 1e-10
        Tolerances of ``solve_ivp`` (> 0); unused by 'rk4'.

    Returns
    -------
    FlowResult

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``t_nodes`` is not increasing, ``x0`` has more than 2 axes, or the
        score's output does not have the shape of ``x0``.
    RuntimeError
        If ``solve_ivp`` fails.

    Examples
    --------
    For p0 = N(0.2, 1) under OU, p_t = N(0.2 e^{-t}, 1) and (4) reads dx/dt = -0.2 e^{-t}: every
    point moves by -0.2 (1 - e^{-T}) and the flow preserves volume (ℓ = 0):

    >>> import numpy as np
    >>> from empirical.kl.flow_ode import probability_flow
    >>> from empirical.quadrature import time_steps
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> x0 = np.array([-1.0, 0.0, 1.0])
    >>> fl = probability_flow(ou(), exact_score(gaussian(0.2, 1.0)), x0, time_steps(0.0, 5.0, 16))
    >>> bool(np.allclose(fl.xT - x0, -0.2 * (1 - np.exp(-5.0)), rtol=0, atol=1e-5))
    True
    >>> bool(np.abs(fl.log_jac).max() < 1e-12)
    True

    The same in R^d (points (N, d)); π = N(0, I_d) in ``logq``:

    >>> from empirical.targets import ProductTarget
    >>> from empirical.kl.ode_mc import exact_score_nd
    >>> p = ProductTarget([gaussian(0.2, 1.0), gaussian(0.0, 1.0)])
    >>> fl = probability_flow(p.sde, exact_score_nd(p), np.zeros((1, 2)), time_steps(0.0, 5.0, 16))
    >>> bool(np.allclose(fl.xT, [[-0.2 * (1 - np.exp(-5.0)), 0.0]], rtol=0, atol=1e-5))
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.array(x0, dtype=float)
    t_nodes = np.asarray(t_nodes, dtype=float)
    if t_nodes.ndim != 1 or t_nodes.size < 2 or np.any(np.diff(t_nodes) <= 0):
        raise ValueError("t_nodes must be an increasing 1-D array of at least 2 times")
    if x.ndim > 2:
        raise ValueError(f"x0 must have shape (N,) or (N, d), got {x.shape}")
    n, shape, n_pts = x.size, x.shape, (x.shape[0] if x.ndim else 1)
    if method != "rk4":

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            dx, dl = _rhs(sde, score, t, y[:n].reshape(shape), divergence)
            return np.concatenate([dx.ravel(), np.broadcast_to(dl, (y.size - n,))])

        y0 = np.concatenate([x.ravel(), np.zeros(n_pts if divergence else 0)])
        sol = integrate.solve_ivp(fun, (t_nodes[0], t_nodes[-1]), y0, method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        x, ell = sol.y[:n, -1].reshape(shape), sol.y[n:, -1]
    else:
        ell = np.zeros(n_pts)
        for t, dt in zip(t_nodes[:-1], np.diff(t_nodes)):
            k1, l1 = _rhs(sde, score, t, x, divergence)
            k2, l2 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k1, divergence)
            k3, l3 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k2, divergence)
            k4, l4 = _rhs(sde, score, t + dt, x + dt * k3, divergence)
            x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            ell = ell + dt / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    return FlowResult(x0=np.asarray(x0, dtype=float), xT=x, log_jac=ell if divergence else None,
                      prior_var=sde.prior_var)
