"""The KL space grid and cell averages of ``empirical.kl.grids`` against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.kl.grids import cell_average, space_edges
from empirical.targets import two_mode


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
        (lambda: space_edges(two_mode(1.0), 0.0, 1), "n_cells"),
        (lambda: space_edges(two_mode(1.0), 0.0, 10, tail=-1.0), "tail"),
    ],
)
def test_bad_input_names_the_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()
