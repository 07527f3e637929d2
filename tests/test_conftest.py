"""The test configuration itself: a hypothesis profile is loaded and never has a deadline."""

from hypothesis import settings

from conftest import PROFILE


def test_a_hypothesis_profile_is_loaded() -> None:
    assert settings.default is settings.get_profile(PROFILE)


def test_profile_has_no_deadline() -> None:
    for name in ("dev", "ci", "thorough"):
        assert settings.get_profile(name).deadline is None
    assert settings.get_profile("ci").derandomize
