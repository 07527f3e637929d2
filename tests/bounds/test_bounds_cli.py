"""``diffgen bound | early-stop | rates``: JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest

from bounds import early_stopping_time, theorem1, theorem2
from verification.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_bound_json(capsys):
    rc, out, err = run(capsys, "bound", "--theorem", "1", "--n", "1000", "--m", "500", "--tau", "7", "--json")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert data["bound"] == pytest.approx(7**4 / 5e5 + 7**3 / 2.5e5 + 1 / 7 + 1 / 500, rel=1e-14)
    assert set(data["terms"]) == {"gen_mn", "gen_m2", "opt", "rf", "approx_bar", "approx_star", "prior"}
    assert data["inputs"]["n"] == 1000 and data["inputs"]["tau"] == 7 and data["inputs"]["delta"] == 0.05


def test_bound_theorem2_full_json_and_table(capsys):
    args = ["bound", "--theorem", "2", "--n", "100", "--m", "100", "--tau", "3", "--mu", "4", "--form", "full"]
    rc, out, _ = run(capsys, *args, "--json", "--latex")
    data = json.loads(out)
    assert rc == 0 and data["bound"] == pytest.approx(
        theorem2(form="full").evaluate(n=100, m=100, tau=3, mu=4), rel=1e-14
    )
    assert data["inputs"]["mu"] == 4 and data["latex"].startswith(r"\mathrm{KL}")
    rc, out, _ = run(capsys, *args)
    assert rc == 0 and "generalization" in out and "Theorem 2 (full): bound =" in out


def test_early_stop_json(capsys):
    rc, out, _ = run(capsys, "early-stop", "--theorem", "2", "--n", "1e4", "--m", "1e4", "--mu", "3", "--json")
    data = json.loads(out)
    want = early_stopping_time(theorem2(), n=1e4, m=1e4, mu=3)
    assert rc == 0 and data["tau_es"] == pytest.approx(want.tau_es) and data["clamped"] is False
    assert data["bound_at_tau_es"] == pytest.approx(want.bound_at_tau_es)


def test_rates_json_exact_rationals(capsys):
    rc, out, _ = run(capsys, "rates", "--theorem", "1", "--json")
    data = json.loads(out)
    assert rc == 0 and data["tau_es_exponent"] == "2/5" and data["bound_exponent"] == "-2/5"
    rc, out, _ = run(capsys, "rates", "--theorem", "2", "--m-exponent", "1/2", "--json")
    data = json.loads(out)
    assert data["tau_es_exponent"] == "1/4" and data["tau_es_mu_exponent"] == "-3/2"
    rc, out, _ = run(capsys, "rates", "--theorem", "1")
    assert rc == 0 and "tau_es ~ n^2/5" in out


@pytest.mark.parametrize(
    ("argv", "param"),
    [
        (["bound", "--theorem", "1", "--n", "0.5", "--m", "10", "--tau", "2"], "n"),
        (["bound", "--theorem", "1", "--n", "10", "--m", "10", "--tau", "0.2"], "tau"),
        (["bound", "--theorem", "1", "--n", "10", "--m", "10", "--tau", "2", "--delta", "1.5"], "delta"),
        (["bound", "--theorem", "1", "--n", "nan", "--m", "10", "--tau", "2"], "n"),
        (["bound", "--theorem", "2", "--n", "10", "--m", "10", "--tau", "2", "--mu", "1"], "mu"),
        (["bound", "--theorem", "2", "--n", "10", "--m", "10", "--tau", "2"], "mu"),
        (["early-stop", "--theorem", "1", "--n", "10", "--m", "-3"], "m"),
        (["rates", "--theorem", "1", "--m-exponent", "-1"], "--m-exponent"),
        (["rates", "--theorem", "1", "--m-exponent", "one"], "--m-exponent"),
    ],
)
def test_bad_input_exit_2_one_line(capsys, argv, param):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"diffgen: error: {param}")


def test_argparse_usage_errors_exit_2(capsys):
    rc, _, err = run(capsys, "bound", "--theorem", "3", "--n", "1", "--m", "1", "--tau", "1")
    assert rc == 2 and "--theorem" in err
    rc, _, _ = run(capsys, "bound", "--theorem", "1", "--n", "x", "--m", "1", "--tau", "1")
    assert rc == 2


def test_cli_matches_api(capsys):
    rc, out, _ = run(capsys, "bound", "--theorem", "1", "--n", "30", "--m", "40", "--tau", "5", "--d", "3",
                     "--form", "full", "--json")
    assert json.loads(out)["bound"] == pytest.approx(theorem1("full").evaluate(n=30, m=40, tau=5, d=3), rel=1e-14)


def test_outside_hypotheses_flag_evaluates_with_a_warning(capsys):
    argv = ["bound", "--theorem", "1", "--n", "10", "--m", "10", "--tau", "0.5", "--json"]
    assert main(argv) == 2
    assert "--outside-hypotheses" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="tau"):
        assert main(argv + ["--outside-hypotheses"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["terms"]["opt"] == pytest.approx(1 / 0.5)
