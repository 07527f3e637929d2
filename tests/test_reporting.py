"""Report plumbing: verdict rules on hand-made cases, JSON validity, files that really are PNGs."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import scipy
from hypothesis import given
from hypothesis import strategies as st

from empirical import reporting
from empirical.reporting import (
    Check,
    atomic_write_text,
    curves_plot,
    dominance_verdict,
    git_state,
    loglog_fit_plot,
    markdown_table,
    progress,
    provenance,
    to_jsonable,
    upper_bound_verdict,
    write_report_md,
    write_results_json,
)
from empirical.stats import fit_power_law

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WORKTREE = Path(__file__).resolve().parents[1]


def _strict_loads(text: str):
    def reject(token: str):
        raise AssertionError(f"invalid JSON constant {token}")

    return json.loads(text, parse_constant=reject)


# ---------------------------------------------------------------- JSON and files

@dataclass(frozen=True)
class _Point:
    n: int
    kl: float


def test_to_jsonable_converts_numpy_dataclasses_and_nonfinite():
    obj = {"a": np.float32(0.5), "b": np.arange(3), "c": (np.int64(2), np.bool_(True)),
           "d": [np.nan, np.inf, -np.inf], "e": _Point(10, 0.25), "f": Path("x/y.png"), "g": None}
    out = to_jsonable(obj)
    assert out == {"a": 0.5, "b": [0, 1, 2], "c": [2, True], "d": ["nan", "inf", "-inf"],
                   "e": {"n": 10, "kl": 0.25}, "f": "x/y.png", "g": None}
    assert type(out["b"][0]) is int and type(out["c"][1]) is bool
    kept = to_jsonable([np.nan, 1e-300], nonfinite="keep")
    assert np.isnan(kept[0]) and kept[1] == 1e-300


@pytest.mark.parametrize("bad, match", [({1: 2.0}, "dict keys must be str"), ({"s": {1, 2}}, "cannot convert set")])
def test_to_jsonable_rejects_what_it_cannot_represent(bad, match):
    with pytest.raises(ValueError, match=match):
        to_jsonable(bad)


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    atomic_write_text(target, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # temporary file removed


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_git_state_reads_commit_and_dirty_flag(tmp_path):
    assert git_state(tmp_path) == ("unknown", None)  # not a checkout
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "commit", "-qm", "x")
    assert git_state(tmp_path) == (_git(tmp_path, "rev-parse", "HEAD"), False)
    (tmp_path / "f.txt").write_text("b")
    assert git_state(tmp_path) == (_git(tmp_path, "rev-parse", "HEAD"), True)


def test_provenance_records_code_versions_and_runtime():
    started = time.time() - 2.0
    prov = provenance({"n": np.int64(100), "tau": [1.0, 10.0]}, started)
    assert prov["commit"] == _git(WORKTREE, "rev-parse", "HEAD")
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["versions"]["scipy"] == scipy.__version__
    assert 2.0 <= prov["runtime_s"] < 60.0
    assert prov["cpu_count"] == os.cpu_count()
    assert prov["params"] == {"n": 100, "tau": [1.0, 10.0]}
    assert prov["date_utc"].endswith("+00:00")
    _strict_loads(json.dumps(prov))


# ---------------------------------------------------------------- verdicts

def test_check_validates_verdict():
    Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "pass-with-slack")
    with pytest.raises(ValueError, match="verdict must be one of"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "ok")


@pytest.mark.parametrize(
    "ci, predicted, verdict",
    [
        ((-0.5, -0.3), -0.4, "pass"),  # covers the prediction
        ((-0.4, -0.3), -0.4, "pass"),  # boundary counts as covering
        ((-0.7, -0.5), -0.4, "pass-with-slack"),  # decays faster than the bound: slack, not a failure
        ((-0.35, -0.2), -0.4, "fail"),  # decays slower than the bound allows
        ((3.0, 3.5), 4.0, "pass-with-slack"),  # gap grows in tau slower than tau^4
        ((4.2, 4.8), 4.0, "fail"),
    ],
)
def test_upper_bound_verdict(ci, predicted, verdict):
    assert upper_bound_verdict(ci, predicted) == verdict


@given(st.floats(-3, 3), st.floats(0, 2), st.floats(-3, 3), st.floats(0, 3))
def test_faster_measured_decay_never_worsens_the_verdict(lo, width, predicted, shift):
    rank = {"fail": 0, "pass": 1, "pass-with-slack": 2}
    before = upper_bound_verdict((lo, lo + width), predicted)
    after = upper_bound_verdict((lo - shift, lo + width - shift), predicted)
    assert rank[after] >= rank[before]


@pytest.mark.parametrize("ci, match", [((0.1, -0.1), "low <= high"), ((np.nan, 0.0), "finite")])
def test_upper_bound_verdict_rejects_bad_ci(ci, match):
    with pytest.raises(ValueError, match=match):
        upper_bound_verdict(ci, -0.4)


def test_dominance_verdict():
    assert dominance_verdict([1.0, 2.0], [1.5, 2.0]) == "pass"
    assert dominance_verdict([1.0, 2.0], [1.5, 1.99]) == "fail"
    assert dominance_verdict([1.0, 0.0], [11.0, 0.1]) == "pass-with-slack"
    assert dominance_verdict([1.0, 2.0], [11.0, 3.0]) == "pass"
    assert dominance_verdict([1.0, 2.0], [11.0, 3.0], slack_factor=1.2) == "pass-with-slack"
    with pytest.raises(ValueError, match="equal shapes"):
        dominance_verdict([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        dominance_verdict([np.nan], [1.0])


# ---------------------------------------------------------------- writers

def test_results_json_is_strict_json_with_checks_provenance_and_extra(tmp_path):
    checks = [Check("a", "claim a", np.float64(np.nan), (-0.5, np.inf), "pass"),
              Check("b", "claim b", 1.0, 2.0, "fail")]
    path = write_results_json(tmp_path / "results.json", checks, {"commit": "abc"},
                              extra={"sweeps": {"kl": np.array([0.1, 0.2])}})
    doc = _strict_loads(path.read_text())
    assert doc["checks"][0] == {"name": "a", "claim": "claim a", "measured": "nan",
                                "predicted": [-0.5, "inf"], "verdict": "pass"}
    assert doc["summary"] == {"pass": 1, "pass-with-slack": 0, "fail": 1}
    assert doc["provenance"] == {"commit": "abc"} and doc["sweeps"] == {"kl": [0.1, 0.2]}
    with pytest.raises(ValueError, match="reserved keys"):
        write_results_json(tmp_path / "r2.json", checks, {}, extra={"checks": []})


def test_markdown_table_matches_hand_written_table():
    rows = [{"n": 100, "kl": 0.123456, "note": "a|b"}, {"n": 1000, "kl": float("nan")}]
    expected = ("| n | KL | note |\n"
                "| ---: | ---: | --- |\n"
                "| 100 | 0.123 | a\\|b |\n"
                "| 1000 | nan |  |\n")
    assert markdown_table(rows, {"n": "n", "kl": "KL", "note": "note"}) == expected
    assert markdown_table(rows, ["kl"], floatfmt=".2e").splitlines()[2] == "| 1.23e-01 |"


def test_report_md_links_images_relative_to_the_report(tmp_path):
    img = tmp_path / "figs" / "rate.png"
    table = markdown_table([{"a": 1.0}], ["a"])
    path = write_report_md(tmp_path / "report.md", [("Rates", [table, img]), ("Notes", "plain text")], title="Report")
    text = path.read_text()
    assert text.startswith("# Report\n")
    assert "## Rates\n\n| a |" in text
    assert "![rate](figs/rate.png)" in text
    assert text.index("## Rates") < text.index("## Notes") and "plain text" in text


def _assert_png(path: Path, width: int, height: int) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (height, width)
    assert image[..., :3].std() > 0.01  # something was drawn


def test_loglog_fit_plot_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    n = np.array([100.0, 200.0, 400.0, 800.0])
    ys = {f"seed {s}": n**-0.4 * np.exp(rng.normal(0, 0.05, n.size)) for s in range(3)}
    fit = fit_power_law(np.tile(n, 3), np.concatenate(list(ys.values())), groups=np.repeat([0, 1, 2], 4), n_boot=200)
    path = loglog_fit_plot(n, ys, fit, -0.4, tmp_path / "sub" / "fit.png", xlabel="n", ylabel="KL")
    # Figure is 6 x 4 inches at the module's dpi.
    _assert_png(path, 6 * reporting._PNG_DPI, 4 * reporting._PNG_DPI)
    assert loglog_fit_plot(n, ys, None, -0.4, tmp_path / "nofit.png").exists()


def test_curves_plot_writes_png(tmp_path):
    tau = np.geomspace(1, 1e3, 30)
    path = curves_plot(tau, {"m=64": 1 / tau + tau / 1e3, "m=256": 1 / tau + tau / 4e3},
                       {"minimum": (31.6, 0.063)}, tmp_path / "curves.png", logx=True, logy=True)
    _assert_png(path, 6 * reporting._PNG_DPI, 4 * reporting._PNG_DPI)
    with pytest.raises(ValueError, match=r"curves\['bad'\] has shape"):
        curves_plot(tau, {"bad": tau[:3]}, None, tmp_path / "bad.png")


def test_progress_writes_only_to_stderr_and_can_be_silenced(capsys):
    assert list(progress(range(5), "sweep", enabled=False)) == [0, 1, 2, 3, 4]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert list(progress(range(5), "sweep", enabled=True)) == [0, 1, 2, 3, 4]
    out = capsys.readouterr()
    assert out.out == "" and "sweep" in out.err
