"""The report's figures: conventions (:mod:`.style`: a colour per quantity, units on every axis, the bands over
seeds), seed means with bands (:mod:`.bands`) and the figure functions the report sections call (:mod:`.plots`)."""

from .bands import Band, band_stats, draw_band, seed_matrix
from .plots import (PNG_DPI, Series, band_plot, density_panels, figure, loglog_fit_plot, save, tau_curves_plot,
                    tightness_histogram)
from .style import BANDS, COLORS, UNITS, color, label, log_scale, ordered_colors

__all__ = ["BANDS", "COLORS", "PNG_DPI", "UNITS", "Band", "Series", "band_plot", "band_stats", "color",
           "density_panels", "draw_band", "figure", "label", "log_scale", "loglog_fit_plot", "ordered_colors", "save",
           "seed_matrix", "tau_curves_plot", "tightness_histogram"]
