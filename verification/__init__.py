"""The claims layer: each claim of Li, Li, Zhang, Bian (NeurIPS 2023, arXiv:2311.01797) as data, its
prediction asked of :mod:`bounds`, the sweeps that measure it with :mod:`empirical`, the statistics,
calibration and verdicts, and the report writers (docs/theory.md §8).

- :mod:`verification.claims`: every claim (statement, source, prediction, statistic, verdict rule);
- :mod:`verification.sections`: one module per report section; :mod:`verification.report` builds it;
- :mod:`verification.designs.sweeps`, :mod:`verification.store.runner`, :mod:`verification.store.cache`: what is measured,
  resumably;
- :mod:`verification.statistics.stats`, :mod:`verification.verdicts`: fits, trends and verdict rules;
- :mod:`verification.calibrated.calibration`, :mod:`verification.calibrated.heldout`, :mod:`verification.calibrated.bound_test`: the hidden
  constants of ≲ and the held-out test (docs/theory.md §8.3); :func:`calibrate_bound` puts any user's bound through
  the same test;
- :mod:`verification.mutations`: deliberate engine faults that the exact checks must catch (§8.1);
- :mod:`verification.output.markdown`, :mod:`verification.figures`, :mod:`verification.store.files`,
  :mod:`verification.store.provenance`: the writers;
- :mod:`verification.cli`: the ``diffgen`` command.
"""

__all__ = ["calibrate_bound"]


def __getattr__(name: str):
    if name == "calibrate_bound":  # imported on first use: it pulls in the engine and the store
        from .calibrated.user_bound import calibrate_bound

        return calibrate_bound
    raise AttributeError(f"module 'verification' has no attribute {name!r}")
