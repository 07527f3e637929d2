"""Time/space grids and quadrature of ``empirical.grids`` against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.grids import cell_average, gauss_legendre_sqrt, space_edges, time_grid
from empirical.targets import two_mode


@pytest.mark.parametrize("t0", [0.0, 0.3])
def test_sqrt_gauss_legendre_is_exact_for_the_inverse_sqrt_singularity(t0: float) -> None:
    t, w = gauss_legendre_sqrt(t0, 5.0, 2, 4)
    assert np.sum(w / np.sqrt(t - t0)) == pytest.approx(2 * np.sqrt(5.0 - t0), rel=1e-13)
    t, w = gauss_legendre_sqrt(t0, 5.0, 4, 8)
    assert np.sum(w * np.exp(-t)) == pytest.approx(np.exp(-t0) - np.exp(-5.0), rel=1e-12)


def test_time_grid_is_graded_and_spans() -> None:
    t = time_grid(0.1, 5.0, 10, power=2.0)
    assert t[0] == 0.1 and t[-1] == pytest.approx(5.0) and np.all(np.diff(np.diff(t)) > 0)


def test_cell_average_is_exact_for_cubics() -> None:
    edges = np.linspace(-1.0, 2.0, 7)
    avg = cell_average(lambda x: x**3 - x, edges)
    prim = edges**4 / 4 - edges**2 / 2
    np.testing.assert_allclose(avg, np.diff(prim) / np.diff(edges), rtol=1e-13, atol=1e-15)


def test_space_edges_cover_target_and_prior() -> None:
    e = space_edges(two_mode(3.0), 0.0, 100, tail=10.0, prior_tail=10.0)
    assert e[0] == pytest.approx(-13.0) and e[-1] == pytest.approx(13.0) and e.size == 101


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: time_grid(0.0, 5.0, 0), "n_steps"),
        (lambda: time_grid(-0.1, 5.0, 4), "t0"),
        (lambda: time_grid(5.0, 5.0, 4), "t0"),
        (lambda: time_grid(0.0, 5.0, 4, power=0.5), "power"),
        (lambda: gauss_legendre_sqrt(0.0, 5.0, 0, 4), "n_panels"),
        (lambda: space_edges(two_mode(1.0), 0.0, 1), "n_cells"),
        (lambda: space_edges(two_mode(1.0), 0.0, 10, tail=-1.0), "tail"),
    ],
)
def test_bad_input_names_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
