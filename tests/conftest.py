"""Shared pytest configuration: hypothesis profiles, the opt-in ``slow`` marker and the allocator setting."""

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
    # The allocator setting every diffgen task runs with (verification.execution.tune_malloc): the same
    # numbers, without page-faulting large arrays back on every allocation.
    from verification.execution import tune_malloc

    tune_malloc()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (minutes each; the report job runs them)",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    slow = "included" if config.getoption("--run-slow") else "skipped (use --run-slow)"
    return [f"hypothesis profile: {PROFILE}", f"slow tests: {slow}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: opt in with `pytest --run-slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
