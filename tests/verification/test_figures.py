"""The report's figure conventions: the band over seeds against an independently computed interval (as statistics
and as the drawn artists), log axes chosen by the data's span, a unit on every axis of every figure function,
faint seeds without legend entries, and one colour per quantity across figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from scipy import stats

from verification.figures import (COLORS, UNITS, Series, band_plot, band_stats, color, density_panels, label,
                                  log_scale, loglog_fit_plot, seed_matrix, tau_curves_plot, tightness_histogram)
from verification.figures import plots
from verification.statistics.stats import PowerLawFit

RNG = np.random.default_rng(7)
SAMPLES = np.exp(RNG.normal(0.0, 0.4, (5, 6))) * np.geomspace(1.0, 1e-3, 6)  # 5 seeds x 6 points, 3 decades


def scipy_interval(values: np.ndarray) -> tuple[float, float, float]:
    """The 95% t interval of the mean by scipy's own routine (not the project's t_interval)."""
    lo, hi = stats.t.interval(0.95, values.size - 1, loc=values.mean(), scale=stats.sem(values))
    return float(values.mean()), float(lo), float(hi)


@pytest.fixture
def drawn(monkeypatch):
    """The Figures the figure functions would write, in order (not rendered: test_writers checks the PNGs)."""
    figures = []

    def capture(fig, path):
        figures.append(fig)
        return Path(path)

    monkeypatch.setattr(plots, "write_png", capture)
    return figures


def test_t_band_is_the_student_t_interval_of_the_seed_mean():
    band = band_stats(SAMPLES, "t")
    for j in range(SAMPLES.shape[1]):
        np.testing.assert_allclose((band.mean[j], band.low[j], band.high[j]), scipy_interval(SAMPLES[:, j]), rtol=1e-12)
    assert band.counts.tolist() == [5] * 6 and not band.log


def test_t_band_on_a_log_axis_is_the_geometric_mean_interval():
    band = band_stats(SAMPLES, "t", log=True)
    for j in range(SAMPLES.shape[1]):
        expected = np.exp(scipy_interval(np.log(SAMPLES[:, j])))
        np.testing.assert_allclose((band.mean[j], band.low[j], band.high[j]), expected, rtol=1e-12)
    assert band.log and band.describe() == "geometric mean, 95% t CI over 5 seeds"


def test_band_uses_the_seeds_present_at_each_point():
    x = SAMPLES.copy()
    x[0, 2] = np.nan
    x[1:, 4] = np.nan
    band = band_stats(x, "t")
    np.testing.assert_allclose((band.mean[2], band.low[2], band.high[2]), scipy_interval(SAMPLES[1:, 2]), rtol=1e-12)
    assert band.mean[4] == SAMPLES[0, 4] and np.isnan(band.low[4]) and np.isnan(band.high[4])
    assert band.counts.tolist() == [5, 5, 4, 5, 1, 5]
    mm = band_stats(x, "minmax")
    assert mm.low[2] == SAMPLES[1:, 2].min() and mm.high[2] == SAMPLES[1:, 2].max()
    assert mm.mean[2] == pytest.approx(SAMPLES[1:, 2].mean(), rel=1e-14)


@pytest.mark.parametrize("bad, match", [({"kind": "sd"}, "kind must be one of"), ({"ci": 1.5}, "ci must be in"),
                                        ({"samples": np.ones(3)}, "samples must be a 2-D array")])
def test_band_stats_rejects_bad_input(bad, match):
    args = {"samples": SAMPLES, **bad}
    with pytest.raises(ValueError, match=match):
        band_stats(**args)


def test_seed_matrix_places_each_seed_in_its_row():
    xs, m = seed_matrix([4, 1, 4, 1, 2], [0.4, 0.1, 0.5, 0.2, 0.3], seeds=["a", "a", "b", "b", "b"])
    assert xs.tolist() == [1.0, 2.0, 4.0]
    np.testing.assert_array_equal(m, [[0.1, np.nan, 0.4], [0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="seeds must have one entry per point"):
        seed_matrix([1, 2], [1, 2], seeds=[0])


def test_drawn_band_mean_and_faint_seeds(drawn, tmp_path):
    x = np.arange(1.0, 7.0)
    band_plot(x, [Series("K2", SAMPLES, color("K2"), "t")], tmp_path / "b.png", label("epoch"), label("kl"))
    ax = drawn[0].axes[0]
    expected = np.array([scipy_interval(np.log(SAMPLES[:, j])) for j in range(x.size)])  # log axis: 3 decades
    assert ax.get_yscale() == "log"
    mean_lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert len(mean_lines) == 1 and mean_lines[0].get_label().startswith("K2: geometric mean, 95% t CI over 5 seeds")
    np.testing.assert_allclose(mean_lines[0].get_ydata(), np.exp(expected[:, 0]), rtol=1e-12)
    faint = [ln for ln in ax.get_lines() if ln.get_label().startswith("_")]
    assert len(faint) == SAMPLES.shape[0] and all(ln.get_alpha() == 0.25 and ln.get_linewidth() < 1 for ln in faint)
    (poly,) = ax.collections
    verts = poly.get_paths()[0].vertices
    for j, xj in enumerate(x):  # the band's polygon spans [low, high] at each x
        ys = verts[np.isclose(verts[:, 0], xj), 1]
        np.testing.assert_allclose((ys.min(), ys.max()), np.exp(expected[j, 1:]), rtol=1e-12)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [mean_lines[0].get_label()]


def test_rate_figure_error_bars_are_the_t_interval(drawn, tmp_path):
    n = np.repeat([16.0, 32.0, 64.0], 4)
    y = np.exp(RNG.normal(0.0, 0.3, n.size)) * n**-0.5
    loglog_fit_plot(n, y, None, -0.4, tmp_path / "r.png", label("n"), label("kl"), quantity="K1")
    ax = drawn[0].axes[0]
    (container,) = ax.containers
    segments = container.lines[2][0].get_segments()
    for k, nk in enumerate((16.0, 32.0, 64.0)):
        _, lo, hi = np.exp(scipy_interval(np.log(y[n == nk])))
        np.testing.assert_allclose(np.sort(segments[k][:, 1]), (lo, hi), rtol=1e-12)
    faint = [ln for ln in ax.get_lines() if ln.get_alpha() == 0.25]
    assert sum(ln.get_xdata().size for ln in faint) == n.size


def test_log_axes_follow_the_data_span(drawn, tmp_path):
    assert log_scale([1e-4, 1e-2, 1.0]) and not log_scale([3.0, 5.0, 20.0]) and not log_scale([-1.0, 1e4])
    assert not log_scale([1.0, 99.0]) and log_scale([1.0, 101.0])
    wide, narrow = np.geomspace(1.0, 1e4, 5), np.linspace(2.0, 9.0, 5)
    band_plot(wide, [Series("K1", np.vstack([wide, 2 * wide]), color("K1"))], tmp_path / "w.png", label("m"), label("kl"))
    band_plot(narrow, [Series("K1", np.vstack([narrow, 1.1 * narrow]), color("K1"))], tmp_path / "n.png", label("m"),
              label("kl"))
    band_plot(narrow, [Series("K1", np.vstack([narrow, 1.1 * narrow]), color("K1"))], tmp_path / "f.png", label("m"),
              label("kl"), logx=True, logy=True)
    scales = [(f.axes[0].get_xscale(), f.axes[0].get_yscale()) for f in drawn]
    assert scales == [("log", "log"), ("linear", "linear"), ("log", "log")]


def _figure_calls(tmp_path):
    tau = np.geomspace(1.0, 1e4, 9)
    n = np.repeat([16.0, 32.0, 64.0], 3)
    fit = PowerLawFit(slope=-0.5, intercept=0.0, ci_low=-0.6, ci_high=-0.4, n_points=9, n_groups=3)
    xs = np.linspace(-6.0, 6.0, 50)
    panel = {"x0": xs, "p0": np.exp(-xs**2), "tau": [1.0, 10.0], "x": [xs, xs], "q": [np.exp(-xs**2)] * 2}
    return {
        "band_plot": lambda: band_plot(tau, [Series("K1", np.vstack([1 / tau, 2 / tau]), color("K1"))],
                                       tmp_path / "a.png", label("tau"), label("kl"),
                                       references={"bound": 3 / tau}),
        "loglog_fit_plot": lambda: loglog_fit_plot(n, n**-0.5, fit, -0.4, tmp_path / "b.png", label("n"),
                                                   label("kl"), quantity="K1"),
        "tau_curves_plot": lambda: tau_curves_plot(tmp_path / "c.png", 16, tau, 1 / tau, tau[::2],
                                                   {"K2": 1 / tau[::2], "K3": 1.1 / tau[::2], "K4": 1.2 / tau[::2]},
                                                   tau[4], 1 / tau[4], seed=0),
        "density_panels": lambda: density_panels(tmp_path / "d.png", [(3.0, panel), (6.0, panel)]),
        "tightness_histogram": lambda: tightness_histogram(tmp_path / "e.png", {1: 10 ** RNG.normal(1, 1, 30)}),
    }


@pytest.mark.parametrize("name", ["band_plot", "loglog_fit_plot", "tau_curves_plot", "density_panels",
                                  "tightness_histogram"])
def test_every_axis_of_every_figure_carries_a_unit(drawn, tmp_path, name):
    _figure_calls(tmp_path)[name]()
    assert len(drawn) == 1
    for ax in drawn[0].axes:
        for text in (ax.get_xlabel(), ax.get_ylabel()):
            assert any(text.endswith(f"({u})") for u in UNITS.values()), f"{name}: {text!r} has no unit"


def test_a_label_without_unit_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ylabel must end with its unit"):
        band_plot([1.0, 2.0], [Series("K1", np.ones((2, 2)), color("K1"))], tmp_path / "x.png", label("n"), "KL")
    with pytest.raises(ValueError, match="kind must be one of"):
        label("furlongs")
    with pytest.raises(ValueError, match="quantity must be one of"):
        color("K9")


def _colors_by_name(fig) -> dict[str, str]:
    ax = fig.axes[0]
    named = [(a.get_label(), a.get_color()) for a in ax.get_lines()]
    named += [(c.get_label(), c.lines[0].get_color()) for c in ax.containers]
    return {text.split(" ")[0].split(":")[0]: to_hex(col) for text, col in named if not text.startswith("_")}


def test_each_quantity_has_one_colour_across_figures(drawn, tmp_path):
    calls = _figure_calls(tmp_path)
    calls["tau_curves_plot"]()
    n = np.repeat([16.0, 32.0, 64.0], 3)
    for quantity in ("K1", "K2", "tau_es"):
        loglog_fit_plot(n, n**-0.5, None, None, tmp_path / f"{quantity}.png", label("n"), label("kl"),
                        quantity=quantity)
    curves = _colors_by_name(drawn[0])
    rates = {q: _colors_by_name(f)[q] for q, f in zip(("K1", "K2", "tau_es"), drawn[1:])}
    assert curves["K1"] == rates["K1"] == COLORS["K1"].lower()
    assert curves["K2"] == rates["K2"] == COLORS["K2"].lower()
    assert curves["tau_es"] == rates["tau_es"] == COLORS["tau_es"].lower()
    assert len({curves[k] for k in ("K1", "K2", "K3", "K4", "tau_es")}) == 5
    assert len(set(COLORS.values())) == len(COLORS)
