"""The claims layer: each claim of Li, Li, Zhang, Bian (NeurIPS 2023, arXiv:2311.01797) as data, its
prediction asked of :mod:`bounds`, the sweeps that measure it with :mod:`empirical`, the statistics,
calibration and verdicts, and the report writers (docs/theory.md §8).

- :mod:`verification.claims`: every claim (statement, source, prediction, statistic, verdict rule);
- :mod:`verification.sections`: one module per report section; :mod:`verification.report` builds it;
- :mod:`verification.sweeps`, :mod:`verification.runner`, :mod:`verification.cache`: what is measured,
  resumably;
- :mod:`verification.stats`, :mod:`verification.verdicts`: fits, trends and verdict rules;
- :mod:`verification.calibration`, :mod:`verification.heldout`: the hidden constants of ≲ and the
  held-out check (docs/theory.md §8.3);
- :mod:`verification.mutations`: deliberate engine faults that the exact checks must catch (§8.1);
- :mod:`verification.markdown`, :mod:`verification.figures`, :mod:`verification.files`,
  :mod:`verification.provenance`: the writers;
- :mod:`verification.cli`: the ``diffgen`` command.
"""
