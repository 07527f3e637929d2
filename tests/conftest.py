"""Shared pytest configuration: hypothesis profiles, the opt-in ``slow`` and ``perf`` markers and the allocator
setting.

``perf`` marks the tests that assert a timing ratio (tests/references.py::benchmark_ratio). Load from another
process can still move a ratio, so the default ``pytest``, a reproducibility check, skips them; ``.ci/run``
runs them on its own machine with ``pytest -m perf --run-perf``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=20, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=200, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
settings.load_profile(PROFILE)


def pytest_configure(config: pytest.Config) -> None:
    # The allocator setting every diffgen task runs with (verification.store.execution.tune_malloc): the same
    # numbers, without page-faulting large arrays back on every allocation.
    from verification.store.execution import tune_malloc

    tune_malloc()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (minutes each; the report job runs them)",
    )
    parser.addoption(
        "--run-perf",
        action="store_true",
        default=False,
        help="also run tests marked perf (they assert timing ratios; .ci/run runs them)",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    slow = "included" if config.getoption("--run-slow") else "skipped (use --run-slow)"
    perf = "included" if config.getoption("--run-perf") else "skipped (use --run-perf)"
    return [f"hypothesis profile: {PROFILE}", f"slow tests: {slow}", f"perf tests: {perf}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skips = {"slow": pytest.mark.skip(reason="slow: opt in with `pytest --run-slow`"),
             "perf": pytest.mark.skip(reason="perf: asserts a timing ratio; opt in with `pytest --run-perf`")}
    for marker, skip in skips.items():
        if config.getoption(f"--run-{marker}"):
            continue
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
