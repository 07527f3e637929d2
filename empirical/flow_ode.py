"""Density of the probability-flow ODE (4) by the instantaneous change of variables (Remark 3).

Each start point x0 at t0 is carried forward by dx/dt = f x - ½ g² s_θ(t, x) to x(T), together
with ℓ(t) = ∫_{t0}^t [f - ½ g² ∂_x s_θ(u, x(u))] du = log ∂x(t)/∂x0. The ODE sampler, run from
x(T) ~ π backwards, has density log q(x0) = log π(x(T)) + ℓ(T) at t0 (THEORY §4, K3).
All start points move as one system of 2N states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate

from .score_models import ScoreModel
from .sde import LinearSDE

METHODS = ("rk4", "RK45", "DOP853", "Radau")
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass(frozen=True)
class FlowResult:
    """Start points ``x0``, their images ``xT`` at T and ``log_jac`` = log dxT/dx0 = ℓ(T)."""

    x0: np.ndarray
    xT: np.ndarray
    log_jac: np.ndarray

    @property
    def logq(self) -> np.ndarray:
        """log q^ODE(x0) = log π(x(T)) + ℓ(T) with π = N(0, 1)."""
        return -0.5 * self.xT**2 - _LOG_SQRT_2PI + self.log_jac


def _rhs(sde: LinearSDE, score: ScoreModel, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f, half_g2 = float(sde.f(t)), 0.5 * float(sde.g2(t))
    return f * x - half_g2 * score(t, x), f - half_g2 * score.dx(t, x)


def probability_flow(sde: LinearSDE, score: ScoreModel, x0: np.ndarray, t_nodes: np.ndarray,
                     method: str = "rk4", rtol: float = 1e-8, atol: float = 1e-10) -> FlowResult:
    """Integrate (4) and ℓ from ``t_nodes[0]`` to ``t_nodes[-1]`` for all ``x0`` at once.

    Parameters
    ----------
    method : 'rk4' takes classical Runge–Kutta steps on ``t_nodes`` (4 score and 4 derivative
        evaluations a step); a ``solve_ivp`` method name ('RK45', 'DOP853', 'Radau') integrates
        adaptively with ``rtol``/``atol`` between the first and last node (a second method to
        check the first).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.array(x0, dtype=float)
    t_nodes = np.asarray(t_nodes, dtype=float)
    if t_nodes.ndim != 1 or t_nodes.size < 2 or np.any(np.diff(t_nodes) <= 0):
        raise ValueError("t_nodes must be an increasing 1-D array of at least 2 times")
    if method != "rk4":
        n = x.size

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            return np.concatenate(_rhs(sde, score, t, y[:n]))

        sol = integrate.solve_ivp(fun, (t_nodes[0], t_nodes[-1]), np.concatenate([x, np.zeros(n)]),
                                  method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        return FlowResult(x0=np.asarray(x0, dtype=float), xT=sol.y[:n, -1], log_jac=sol.y[n:, -1])
    ell = np.zeros_like(x)
    for t, dt in zip(t_nodes[:-1], np.diff(t_nodes)):
        k1, l1 = _rhs(sde, score, t, x)
        k2, l2 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k1)
        k3, l3 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k2)
        k4, l4 = _rhs(sde, score, t + dt, x + dt * k3)
        x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        ell = ell + dt / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    return FlowResult(x0=np.asarray(x0, dtype=float), xT=x, log_jac=ell)
