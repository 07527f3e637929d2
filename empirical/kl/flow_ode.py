"""Density of the probability-flow ODE (4) by the instantaneous change of variables (Remark 3).

Each start point x0 at t0 is carried forward by dx/dt = f x - ½ g² s_θ(t, x) to x(T), together
with ℓ(t) = ∫_{t0}^t [f - ½ g² ∂_x s_θ(u, x(u))] du = log ∂x(t)/∂x0. The ODE sampler, run from
x(T) ~ π backwards, has density log q(x0) = log π(x(T)) + ℓ(T) at t0 (docs/theory.md §4, K3).
All start points move as one system of 2N states.

In 1-D the flow map Φ: x0 ↦ x(T) is increasing, so the same change of variables also holds in
integrated form: the ODE law gives the cell [x0_j, x0_{j+1}] exactly the π-mass of
[Φ(x0_j), Φ(x0_{j+1})]. That form needs no ∂_x s_θ, whose jumps at ReLU kinks cost the
divergence form its time order (first order instead of four).
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
    """Start points ``x0``, their images ``xT`` at T and ``log_jac`` = log dxT/dx0 = ℓ(T)."""

    x0: np.ndarray
    xT: np.ndarray
    log_jac: np.ndarray | None

    @property
    def logq(self) -> np.ndarray:
        """log q^ODE(x0) = log π(x(T)) + ℓ(T) with π = N(0, 1) (Remark 3)."""
        if self.log_jac is None:
            raise ValueError("log_jac is None: run probability_flow with divergence=True")
        return -0.5 * self.xT**2 - _LOG_SQRT_2PI + self.log_jac

    def cell_masses(self) -> np.ndarray:
        """q^ODE-mass of each cell [x0_j, x0_{j+1}] = π-mass of [Φ(x0_j), Φ(x0_{j+1})], computed on
        the tail side of 0 so that far cells keep their relative precision."""
        a, b = self.xT[:-1], self.xT[1:]
        return np.where(a > 0, special.ndtr(-a) - special.ndtr(-b), special.ndtr(b) - special.ndtr(a))


def _rhs(sde: LinearSDE, score: ScoreModel, t: float, x: np.ndarray,
         divergence: bool) -> tuple[np.ndarray, np.ndarray | float]:
    f, half_g2 = float(sde.f(t)), 0.5 * float(sde.g2(t))
    return f * x - half_g2 * score(t, x), (f - half_g2 * score.dx(t, x)) if divergence else 0.0


def probability_flow(sde: LinearSDE, score: ScoreModel, x0: np.ndarray, t_nodes: np.ndarray,
                     method: str = "rk4", divergence: bool = True, rtol: float = 1e-8,
                     atol: float = 1e-10) -> FlowResult:
    """Integrate (4) and ℓ from ``t_nodes[0]`` to ``t_nodes[-1]`` for all ``x0`` at once.

    Parameters
    ----------
    method : 'rk4' takes classical Runge–Kutta steps on ``t_nodes`` (4 score and 4 derivative
        evaluations a step); a ``solve_ivp`` method name ('RK45', 'DOP853', 'Radau') integrates
        adaptively with ``rtol``/``atol`` between the first and last node (a second method to
        check the first).
    divergence : integrate ℓ as well (needs ``score.dx``); False leaves ``log_jac`` None and
        halves the cost, for ``FlowResult.cell_masses``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.array(x0, dtype=float)
    t_nodes = np.asarray(t_nodes, dtype=float)
    if t_nodes.ndim != 1 or t_nodes.size < 2 or np.any(np.diff(t_nodes) <= 0):
        raise ValueError("t_nodes must be an increasing 1-D array of at least 2 times")
    n = x.size
    if method != "rk4":

        def fun(t: float, y: np.ndarray) -> np.ndarray:
            dx, dl = _rhs(sde, score, t, y[:n], divergence)
            return np.concatenate([dx, np.broadcast_to(dl, (y.size - n,))])

        y0 = np.concatenate([x, np.zeros(n if divergence else 0)])
        sol = integrate.solve_ivp(fun, (t_nodes[0], t_nodes[-1]), y0, method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        x, ell = sol.y[:n, -1], sol.y[n:, -1]
    else:
        ell = np.zeros(n)
        for t, dt in zip(t_nodes[:-1], np.diff(t_nodes)):
            k1, l1 = _rhs(sde, score, t, x, divergence)
            k2, l2 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k1, divergence)
            k3, l3 = _rhs(sde, score, t + 0.5 * dt, x + 0.5 * dt * k2, divergence)
            k4, l4 = _rhs(sde, score, t + dt, x + dt * k3, divergence)
            x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            ell = ell + dt / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    return FlowResult(x0=np.asarray(x0, dtype=float), xT=x, log_jac=ell if divergence else None)
