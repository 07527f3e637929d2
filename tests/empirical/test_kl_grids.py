"""The KL space grid and cell averages of ``empirical.kl.grids`` against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.kl.grids import cell_average, space_edges, zero_score_sd
from empirical.sde import LinearSDE, ou
from empirical.targets import two_mode
from references import linear_score_laws


def test_cell_average_is_exact_for_cubics() -> None:
    edges = np.linspace(-1.0, 2.0, 7)
    avg = cell_average(lambda x: x**3 - x, edges)
    prim = edges**4 / 4 - edges**2 / 2
    np.testing.assert_allclose(avg, np.diff(prim) / np.diff(edges), rtol=1e-13, atol=1e-15)


def test_space_edges_cover_target_and_prior() -> None:
    e = space_edges(two_mode(3.0), 0.0, 100, tail=10.0, prior_tail=10.0)
    assert e[0] == pytest.approx(-13.0) and e[-1] == pytest.approx(13.0) and e.size == 101


def test_outer_cells_grow_geometrically_to_the_reach_and_keep_the_window() -> None:
    target = two_mode(3.0)
    window = space_edges(target, 0.0, 1200)
    e = space_edges(target, 0.0, 1200, reach=2500.0, growth=1.05)
    n_out = (e.size - window.size) // 2
    np.testing.assert_array_equal(e[n_out:n_out + window.size], window)  # the window is today's grid
    w = np.diff(e)
    h = w[n_out]
    right = w[n_out + 1200:]
    np.testing.assert_allclose(right, h * 1.05 ** np.arange(1, right.size + 1), rtol=1e-12)
    np.testing.assert_allclose(w[:n_out], right[::-1], rtol=1e-9)  # symmetric window, symmetric cells
    assert e[-1] >= 2500.0 > e[-2] and e[0] <= -2500.0 < e[1]  # covers the reach with no cell to spare
    # the count log(1 + (R - 13)(g - 1)/(g h)) / log g on a side
    assert n_out == int(np.ceil(np.log1p((2500.0 - 13.0) * 0.05 / (1.05 * h)) / np.log(1.05)))
    np.testing.assert_array_equal(space_edges(target, 0.0, 1200, reach=12.0), window)  # inside: none


@pytest.mark.parametrize("t0", [0.0, 0.5])
def test_zero_score_sd_matches_the_moment_ode(t0: float) -> None:
    # the reverse SDE with s = 0 from π: its variance by solve_ivp of V' = -2 f V + g² (tests/references)
    beta = lambda t: 0.1 + 0.9 * np.asarray(t, dtype=float)  # a VP-type SDE without closed forms
    vp = LinearSDE(f=lambda t: -0.5 * beta(t), g=lambda t: np.sqrt(beta(t)), T=3.0)
    for sde in (ou(5.0), vp):
        (m, v), _ = linear_score_laws(sde, lambda t: 0.0, lambda t: 0.0, t0)
        assert zero_score_sd(sde, t0) == pytest.approx(np.sqrt(v), rel=1e-8)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: space_edges(two_mode(1.0), 0.0, 1), "n_cells"),
        (lambda: space_edges(two_mode(1.0), 0.0, 10, tail=-1.0), "tail"),
        (lambda: space_edges(two_mode(1.0), 0.0, 10, reach=-1.0), "reach"),
        (lambda: space_edges(two_mode(1.0), 0.0, 10, reach=100.0, growth=1.0), "growth"),
    ],
)
def test_bad_input_names_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
