"""The engine's one time-grid module, ``empirical.quadrature``, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.quadrature import gl_panels, time_grid, time_steps


@pytest.mark.parametrize("t0", [0.0, 0.3])
def test_time_grid_is_exact_for_the_inverse_sqrt_singularity(t0: float) -> None:
    # ∫_{t0}^T (t - t0)^{-1/2} dt = 2 √(T - t0): a constant in u after t = t0 + (T - t0) u².
    g = time_grid(5.0, 4, t0, n_panels=2)
    assert g.horizon * np.sum(g.w / np.sqrt(g.t - t0)) == pytest.approx(2 * np.sqrt(5.0 - t0), rel=1e-13)
    g = time_grid(5.0, 8, t0, n_panels=4)
    assert g.horizon * np.sum(g.w * np.exp(-g.t)) == pytest.approx(np.exp(-t0) - np.exp(-5.0), rel=1e-12)


def test_time_grid_weights_average_over_uniform_t() -> None:
    # E_{t~U(t0,T)} t = (t0 + T)/2 and E t² = (T³ - t0³)/(3 (T - t0)), exact for polynomials in u.
    g = time_grid(5.0, 16, 1.0)
    assert np.sum(g.w) == pytest.approx(1.0, rel=1e-14)
    assert g.w @ g.t == pytest.approx(3.0, rel=1e-14)
    assert g.w @ g.t**2 == pytest.approx((125.0 - 1.0) / 12.0, rel=1e-14)


def test_one_panel_and_many_panels_agree_on_a_smooth_integrand() -> None:
    one, many = time_grid(5.0, 64), time_grid(5.0, 16, n_panels=4)
    f = lambda t: np.sqrt(1.0 - np.exp(-2 * t)) / (1.0 + t)  # σ_t of OU, with its √t behaviour at 0
    assert one.w @ f(one.t) == pytest.approx(many.w @ f(many.t), rel=1e-10)


def test_time_steps_are_graded_and_span() -> None:
    t = time_steps(0.1, 5.0, 10, power=2.0)
    assert t[0] == 0.1 and t[-1] == pytest.approx(5.0) and np.all(np.diff(np.diff(t)) > 0)


def test_gl_panels_integrate_a_gaussian() -> None:
    x, w = gl_panels(-10.0, 10.0, 40)
    assert w @ np.exp(-0.5 * x * x) == pytest.approx(np.sqrt(2 * np.pi), rel=1e-13)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: time_steps(0.0, 5.0, 0), "n_steps"),
        (lambda: time_steps(-0.1, 5.0, 4), "t0"),
        (lambda: time_steps(5.0, 5.0, 4), "t0"),
        (lambda: time_steps(0.0, 5.0, 4, power=0.5), "power"),
        (lambda: time_grid(5.0, 4, 0.0, n_panels=0), "n_panels"),
        (lambda: time_grid(5.0, 0), "n_t"),
        (lambda: time_grid(0.0, 4), "T"),
        (lambda: time_grid(5.0, 4, 6.0), "t0"),
    ],
)
def test_bad_input_names_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
