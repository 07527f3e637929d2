"""``diffgen diff OLD NEW``: verdicts that changed, values beyond tolerance, checks added or removed, and exit
status 2 with one line for bad input. Files are written by the project's writer (``write_results_json``),
plus one copy of the committed full report."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verification.output import diff
from verification.store import files
from verification.cli import main
from verification.output.diff import compare, headline, load_results
from verification.store.files import write_results_json
from verification.verdicts import Check

WORKTREE = Path(__file__).resolve().parents[2]
FULL = WORKTREE / "reports" / "full" / "results.json"
JSON_KEYS = {"old", "new", "rtol", "atol", "fail_on", "status", "checks_compared", "verdicts_changed",
             "checks_added", "checks_removed", "values_changed"}


def _checks(slope: float = -1.2, verdict: str = "holds-with-slack", mean: float = 0.5, power: float | None = 0.9,
            tiny: float = 1e-17, extra: bool = False) -> list[Check]:
    out = [
        Check("rate", "KL decays like n^-2/5 at most", {"slope": slope, "ci95": [slope - 0.1, slope + 0.1],
                                                        "points": 35, "interval": "t"},
              {"slope": -0.4}, verdict, "least-squares slope"),
        Check("trend", "tau_es grows with mu", {"mean": mean, "tiny": tiny, "rises": [True, False]},
              "increasing", "consistent", "Kendall's tau", power=power),
    ]
    if extra:
        out.append(Check("new-claim", "a new claim", {"ratio": 0.3}, {"ratio_at_most": 1.0}, "holds", "max ratio"))
    return out


def _write(path: Path, checks: list[Check], commit: str = "a" * 40) -> Path:
    return write_results_json(path, checks, {"commit": commit, "date_utc": str(path)})


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    try:
        rc = main(["diff", *map(str, argv)])
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    """The body rows of every markdown table whose header row starts with ``| header |``."""
    lines, rows = markdown.splitlines(), []
    for start in (i for i, line in enumerate(lines) if line.startswith(f"| {header} |")):
        for line in lines[start + 2:]:
            if not line.startswith("|"):
                break
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.fixture
def base(tmp_path) -> Path:
    return _write(tmp_path / "old.json", _checks())


def test_identical_reports_exit_0_whatever_their_provenance(capsys, base, tmp_path):
    other = _write(tmp_path / "new.json", _checks(), commit="b" * 40)  # provenance differs
    assert json.loads(base.read_text())["provenance"] != json.loads(other.read_text())["provenance"]
    rc, out, err = run(capsys, base, other, "--fail-on", "numbers")
    assert (rc, err) == (0, "")
    assert "No change: 2 checks compared" in out


def test_a_flipped_verdict_exits_1_and_the_table_names_it_with_its_statistic(capsys, base, tmp_path):
    new = _write(tmp_path / "new.json", _checks(slope=-0.2, verdict="violated"))
    rc, out, err = run(capsys, base, new)
    assert (rc, err) == (1, "")
    assert _table_rows(out, "check | old")[0] == ["rate", "holds-with-slack", "violated", "/measured/slope", "-1.2", "-0.2"]
    assert "## Verdicts changed (1)" in out


@pytest.mark.parametrize("rel, listed", [(2e-4, True), (-2e-4, True), (5e-5, False), (-5e-5, False)])
def test_a_number_is_listed_only_beyond_rtol(capsys, base, tmp_path, rel, listed):
    new = _write(tmp_path / "new.json", _checks(mean=0.5 * (1 + rel)))
    rc, out, _ = run(capsys, base, new, "--rtol", "1e-4")
    assert rc == 0  # numbers alone do not fail the default --fail-on verdicts
    assert ("/measured/mean" in out) is listed
    rc, out, _ = run(capsys, base, new, "--rtol", "1e-4", "--fail-on", "numbers")
    assert rc == int(listed)
    if listed:
        row = next(r for r in _table_rows(out, "check | path") if r[:2] == ["trend", "/measured/mean"])
        assert row[2] == "moved" and float(row[5]) == pytest.approx(rel, rel=1e-3)


def test_the_tolerance_is_symmetric_and_relative_to_the_larger_value():
    old = load_results_from({"x": 1.0})
    # |2 - 1| / max(1, 2) = 0.5: beyond rtol 0.4, within rtol 0.6, whichever file is the old one
    for a, b in ((old, load_results_from({"x": 2.0})), (load_results_from({"x": 2.0}), old)):
        assert len(compare(a, b, rtol=0.4).values) == 1
        assert compare(a, b, rtol=0.6).values == ()


def load_results_from(measured: dict, verdict: str = "holds", schema: int = 1, **fields) -> diff.Results:
    return diff.Results("mem", schema, None, {"c": {"name": "c", "verdict": verdict, "measured": measured, **fields}})


def test_the_absolute_floor_keeps_rounding_near_zero_out(capsys, base, tmp_path):
    new = _write(tmp_path / "new.json", _checks(tiny=2e-17))
    rc, out, _ = run(capsys, base, new, "--fail-on", "numbers")
    assert rc == 0 and "No change" in out
    rc, out, _ = run(capsys, base, new, "--fail-on", "numbers", "--atol", "0")
    assert rc == 1 and "/measured/tiny" in out


def test_a_number_that_becomes_nan_null_or_missing_is_listed(tmp_path):
    old = load_results(_write(tmp_path / "old.json", _checks()))
    new_checks = _checks(mean=math.nan, power=None)
    new_checks[0] = Check("rate", "x", {"slope": -1.2, "ci95": [-1.3, -1.1], "interval": "t"}, {"slope": -0.4},
                          "holds-with-slack", "s")  # "points" gone
    new = load_results(_write(tmp_path / "new.json", new_checks))
    got = {(c.check, c.path): (c.kind, c.old, c.new) for c in compare(old, new).values}
    assert got == {("rate", "/measured/points"): ("removed", 35, None),
                   ("trend", "/measured/mean"): ("changed", 0.5, "nan"),
                   ("trend", "/power"): ("changed", 0.9, None)}  # the writer writes a None power as null


def test_nan_equals_nan_and_a_flipped_boolean_is_a_change():
    assert compare(load_results_from({"x": "nan", "y": "inf"}), load_results_from({"x": "nan", "y": "inf"})).values == ()
    change, = compare(load_results_from({"b": [True]}), load_results_from({"b": [False]})).values
    assert (change.path, change.kind) == ("/measured/b/0", "changed")
    change, = compare(load_results_from({"b": 1.0}), load_results_from({"b": "inf"})).values
    assert change.kind == "changed" and change.relative is None


def test_added_and_removed_checks_are_listed_and_fail_the_default(capsys, base, tmp_path):
    new = _write(tmp_path / "new.json", _checks(extra=True)[1:])  # "rate" removed, "new-claim" added
    rc, out, _ = run(capsys, base, new)
    assert rc == 1
    assert "## Checks added (1)" in out and "## Checks removed (1)" in out
    assert _table_rows(out, "check | verdict") == [["new-claim", "holds"], ["rate", "holds-with-slack"]]
    assert run(capsys, base, new, "--fail-on", "none")[0] == 0


def test_json_output_parses_with_stable_keys(capsys, base, tmp_path):
    new = _write(tmp_path / "new.json", _checks(slope=-0.2, verdict="violated", mean=math.nan, extra=True))
    rc, out, _ = run(capsys, base, new, "--json")
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert rc == 1 and set(doc) == JSON_KEYS and doc["status"] == 1 and out.count("\n") == 1
    assert doc["verdicts_changed"] == [{"check": "rate", "old": "holds-with-slack", "new": "violated",
                                        "statistic": "/measured/slope", "old_value": -1.2, "new_value": -0.2}]
    assert doc["checks_added"] == [{"check": "new-claim", "verdict": "holds"}] and doc["checks_removed"] == []
    assert {"check": "trend", "path": "/measured/mean", "kind": "changed", "old": 0.5, "new": "nan",
            "relative_change": None} in doc["values_changed"]
    assert {v["path"] for v in doc["values_changed"] if v["check"] == "rate"} == {
        "/measured/slope", "/measured/ci95/0", "/measured/ci95/1"}


def _one_error_line(rc: int, out: str, err: str, *fragments: str) -> None:
    assert rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("diffgen: error: ")
    assert "Traceback" not in err
    for f in fragments:
        assert f in err


def test_a_truncated_file_exits_2_naming_it(capsys, base, tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_text(base.read_text()[: len(base.read_text()) // 2])
    _one_error_line(*run(capsys, base, cut), "NEW", str(cut), "truncated")


@pytest.mark.parametrize("content, fragment", [
    (None, "No such file"), ("", "empty"), ("{not json", "not valid JSON"), ('{"checks": []}', "schema"),
    ('[1, 2]', "not a results.json"), ('{"schema": 1, "checks": [{"verdict": "holds"}]}', "name"),
    ('{"schema": 1, "checks": [{"name": "a", "verdict": "fine"}]}', "verdict 'fine'"),
    ('{"schema": true, "checks": []}', "schema"), (b"\x89PNG\xff\x00", "UTF-8"),
])
def test_bad_files_exit_2_with_one_line_naming_the_file(capsys, base, tmp_path, content, fragment):
    bad = tmp_path / "bad.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content)
    _one_error_line(*run(capsys, bad, base), "OLD", str(bad), fragment)


def test_schemas_that_differ_exit_2_naming_both(capsys, base, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "RESULTS_SCHEMA", 1)
    one = _write(tmp_path / "one.json", _checks())
    _one_error_line(*run(capsys, one, base), "schema 1", "schema 2", str(one), str(base))


@pytest.mark.parametrize("flag, value", [("--rtol", "-1"), ("--rtol", "nan"), ("--atol", "inf"), ("--max-rows", "-2")])
def test_bad_tolerances_exit_2_naming_the_flag(capsys, base, flag, value):
    _one_error_line(*run(capsys, base, base, flag, value), flag)


def test_schema_2_fields_compare_generically():
    """Schema 2 adds rule, size, power, alternative, reason to each check: numbers compared, texts not."""
    old = load_results_from({"slope": -1.0}, schema=2, rule="ci-vs-prediction", size=0.05, power=0.8,
                            alternative="less", reason="")
    new = load_results_from({"slope": -1.0}, schema=2, rule="another rule", size=0.1, power=None,
                            alternative="greater", reason="too few seeds")
    got = {(c.path, c.kind) for c in compare(old, new).values}
    assert got == {("/size", "moved"), ("/power", "changed")}


def test_markdown_caps_the_rows_but_json_lists_all(capsys, tmp_path):
    old = _write(tmp_path / "old.json", [Check("many", "c", {"x": list(range(1, 31))}, None, "holds", "s")])
    new = _write(tmp_path / "new.json", [Check("many", "c", {"x": list(range(2, 32))}, None, "holds", "s")])
    rc, out, _ = run(capsys, old, new, "--max-rows", "5")
    assert rc == 0 and "... and 25 more" in out
    assert _table_rows(out, "check | moved")[0][:2] == ["many", "30"]  # per-check summary: 30 moved
    assert len(json.loads(run(capsys, old, new, "--json")[1])["values_changed"]) == 30


def test_every_check_of_the_full_report_has_a_main_statistic():
    checks = load_results(FULL).checks
    stats = {name: headline(c) for name, c in checks.items()}
    assert all(stats.values()), [n for n, s in stats.items() if not s]
    assert stats["rate-n-K1"] == "/measured/mean" and stats["capacity-m"] == "/measured/kendall_tau"
    assert stats["ledger-I2"] == "/measured/max_ratio"
    # named statistics win over counts and rule settings that come first in the file
    assert stats["early-stopping-K2"] == "/measured/rise/0"  # not /measured/accuracy
    assert stats["paper-modes-collapse"] == "/measured/parts/0/one_mode"  # not .../size
    assert stats["calibrated-bound-theorem2"] == "/measured/worst_ratio"
    assert stats["paper-fig3-sgd-minimum"] == "/measured/mean"
    assert stats["lemmas-4-5-exact"] == "/measured/worst_ratio_lhs_over_rhs/empirical_flow:lemma4"


def test_on_a_copy_of_the_full_report(capsys, tmp_path):
    doc = json.loads(FULL.read_text())
    same = tmp_path / "same.json"
    same.write_text(json.dumps({**doc, "provenance": {"commit": "0" * 40}}))
    rc, out, _ = run(capsys, FULL, same)
    assert rc == 0 and f"No change: {len(doc['checks'])} checks compared" in out
    flipped = json.loads(FULL.read_text())
    rate = next(c for c in flipped["checks"] if c["name"] == "rate-n-K1")
    old_slope = rate["measured"]["mean"]
    rate["verdict"], rate["measured"]["mean"] = "violated", -0.1
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    rc, out, _ = run(capsys, FULL, tmp_path / "flipped.json")
    assert rc == 1
    row, = _table_rows(out, "check | old")
    assert row[:4] == ["rate-n-K1", "holds-with-slack", "violated", "/measured/mean"]
    assert float(row[4]) == pytest.approx(old_slope, rel=1e-5) and float(row[5]) == -0.1


def test_the_command_runs_as_a_process(tmp_path, base):
    """The real entry (``python -m verification.cli``, what the ``diffgen`` script calls): stdout, stderr
    and the exit status of a separate process."""
    env = {**os.environ, "PYTHONPATH": str(WORKTREE)}
    cmd = [sys.executable, "-m", "verification.cli", "diff"]
    ok = subprocess.run([*cmd, str(base), str(base), "--json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == 0 and ok.stderr == ""
    bad = subprocess.run([*cmd, str(base), str(tmp_path / "missing.json")], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [f"diffgen: error: NEW '{tmp_path / 'missing.json'}': cannot read "
                                       "(No such file or directory)"]
