"""Input validation: every parameter, its message (name, value, valid range) and the opt-out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bounds import HypothesisWarning, early_stopping_time, theorem1, theorem2

BASE1 = dict(n=100.0, m=100.0, tau=2.0)
BASE2 = dict(n=100.0, m=100.0, tau=2.0, mu=3.0)

# (bound factory, parameter, bad value, fragment of the valid range in the message, is a hypothesis)
CASES = [
    (theorem1, "n", 0.5, "[1, inf)", True),
    (theorem1, "m", 0.0, "(0, inf)", False),
    (theorem1, "tau", 0.99, "[1, inf)", True),
    (theorem1, "tau", -1.0, "(0, inf)", False),
    (theorem1, "delta", 1.0, "(0, 1)", False),
    (theorem1, "delta", 0.0, "(0, 1)", False),
    (theorem1, "d", 0.5, "[1, inf)", True),
    (theorem1, "T", 0.0, "(0, inf)", False),
    (theorem1, "L_star", -0.1, "[0, inf)", False),
    (theorem1, "c_opt", -1.0, "[0, inf)", False),
    (theorem2, "mu", 2.0, "(sqrt(log(1/delta**2)) = 2.44775, 1e+06]", True),
    (theorem2, "mu", -3.0, "(0, inf)", False),
    (theorem2, "n", 0.1, "[1, inf)", True),
    (theorem2, "KL_T", -1.0, "[0, inf)", False),
]


@pytest.mark.parametrize(("factory", "param", "value", "valid", "hypothesis"), CASES)
def test_each_parameter_is_checked(factory, param, value, valid, hypothesis):
    base = BASE1 if factory is theorem1 else BASE2
    b = factory()
    with pytest.raises(ValueError) as err:
        b.evaluate(**{**base, param: value})
    msg = str(err.value)
    assert msg.startswith(f"{param} = {value:g} ") and valid in msg
    if hypothesis:
        with pytest.warns(HypothesisWarning, match=param):
            assert math.isfinite(b.evaluate(check_hypotheses=False, **{**base, param: value}))
    else:
        with pytest.raises(ValueError, match=param):
            b.evaluate(check_hypotheses=False, **{**base, param: value})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "abc", None])
@pytest.mark.parametrize("param", ["n", "m", "tau", "delta", "d", "T", "L_bar"])
def test_non_finite_or_non_numeric_always_rejected(param, bad):
    with pytest.raises(ValueError, match=f"^{param} must be a finite real number"):
        theorem1("full").evaluate(check_hypotheses=False, **{**BASE1, param: bad})


def test_mu_separation_depends_on_delta():
    b = theorem2()
    assert b.evaluate(**{**BASE2, "mu": 2.0, "delta": 0.2}) > 0  # sqrt(log 25) = 1.794 < 2
    with pytest.raises(ValueError, match=r"mu = 2 .*= 2.14597"):
        b.evaluate(**{**BASE2, "mu": 2.0, "delta": 0.1})


def test_array_violation_names_the_element():
    with pytest.raises(ValueError, match=r"tau = 0.5 \(array element \(2,\)\)"):
        theorem1().evaluate(n=10.0, m=10.0, tau=np.array([1.0, 3.0, 0.5]))


def test_unknown_missing_and_wrong_theorem_parameters():
    with pytest.raises(ValueError, match="unknown parameter 'mu'"):
        theorem1().evaluate(**BASE1, mu=3.0)
    with pytest.raises(ValueError, match="unknown parameter 'd'"):
        theorem2().evaluate(**BASE2, d=2.0)
    with pytest.raises(ValueError, match="^mu is required"):
        theorem2().evaluate(**BASE1)
    with pytest.raises(ValueError, match="form must be one of"):
        theorem1(form="exact")
    with pytest.raises(ValueError, match="k \\(degree of Poly\\(mu\\)\\) must be"):
        theorem2(k=-1)
    with pytest.raises(ValueError, match="constants: unknown name"):
        theorem1(constants={"c_foo": 1.0})
    with pytest.raises(ValueError, match="c_opt = -2"):
        theorem1(constants={"c_opt": -2.0})


def test_early_stopping_validates_and_refuses_tau():
    with pytest.raises(ValueError, match="tau must not be given"):
        early_stopping_time(theorem1(), n=10.0, m=10.0, tau=3.0)
    with pytest.raises(ValueError, match="^n = 0.5"):
        early_stopping_time(theorem1(), n=0.5, m=10.0)
    with pytest.raises(ValueError, match="method must be"):
        early_stopping_time(theorem1(), n=10.0, m=10.0, method="magic")
