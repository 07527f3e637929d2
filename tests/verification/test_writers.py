"""The claims layer's writers: atomic files, provenance, results.json (strict JSON), report.md, PNG
figures that really are PNGs, and the progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import scipy

from verification.output.formats import markdown_table
from verification import figures
from verification.figures import Series, band_plot, label, loglog_fit_plot
from verification.store.files import atomic_write_text, write_results_json
from verification.output.markdown import write_report_md
from verification.store.provenance import git_state, provenance
from verification.store.runner import progress
from verification.statistics.stats import fit_power_law
from verification.verdicts import Check

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WORKTREE = Path(__file__).resolve().parents[2]


def _strict_loads(text: str):
    def reject(token: str):
        raise AssertionError(f"invalid JSON constant {token}")

    return json.loads(text, parse_constant=reject)


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


def test_provenance_keeps_the_git_state_read_at_the_start_of_a_run():
    # A report written into the checkout dirties it before the run ends: the state passed in wins.
    prov = provenance({}, time.time(), state=("abc123", False))
    assert (prov["commit"], prov["dirty"]) == ("abc123", False)


def test_results_json_is_strict_json_with_checks_provenance_and_extra(tmp_path):
    checks = [Check("a", "claim a", np.float64(np.nan), (-0.5, np.inf), "consistent", "a slope", rule="rate",
                    size=0.02, power=0.9, alternative="a slower rate"),
              Check("b", "claim b", 1.0, 2.0, "violated", "a ratio", power=0.6,
                    controls=({"shape": "1/n", "rejected": True},))]
    path = write_results_json(tmp_path / "results.json", checks, {"commit": "abc"},
                              extra={"sweeps": {"kl": np.array([0.1, 0.2])}})
    doc = _strict_loads(path.read_text())
    assert doc["checks"][0] == {"name": "a", "claim": "claim a", "source": "", "measured": "nan", "statistic": "a slope",
                                "predicted": [-0.5, "inf"], "verdict": "consistent", "rule": "rate", "size": 0.02,
                                "power": 0.9, "alternative": "a slower rate", "raw_verdict": "consistent",
                                "nulls": [], "replicates": 0}
    assert doc["schema"] == 2
    assert doc["checks"][1]["power"] == 0.6 and doc["checks"][1]["controls"] == [{"shape": "1/n", "rejected": True}]
    assert doc["summary"] == {"holds": 0, "consistent": 1, "holds-with-slack": 0, "violated": 1,
                              "mechanism-not-observed": 0, "inconclusive": 0}
    assert doc["provenance"] == {"commit": "abc"} and doc["sweeps"] == {"kl": [0.1, 0.2]}
    with pytest.raises(ValueError, match="reserved keys"):
        write_results_json(tmp_path / "r2.json", checks, {}, extra={"checks": []})


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
    n = np.tile([100.0, 200.0, 400.0, 800.0], 3)
    ys = n**-0.4 * np.exp(rng.normal(0, 0.05, n.size))
    fit = fit_power_law(n, ys, groups=np.repeat([0, 1, 2], 4), n_boot=200)
    path = loglog_fit_plot(n, ys, fit, -0.4, tmp_path / "sub" / "fit.png", label("n"), label("kl"), quantity="K1")
    # Figure is 6 x 4 inches at the module's dpi.
    _assert_png(path, 6 * figures.PNG_DPI, 4 * figures.PNG_DPI)
    assert loglog_fit_plot(n, ys, None, -0.4, tmp_path / "nofit.png", label("n"), label("kl"), quantity="K1").exists()
    with pytest.raises(ValueError, match=r"y has shape"):
        loglog_fit_plot(n, ys[:3], None, None, tmp_path / "bad.png", label("n"), label("kl"), quantity="K1")


def test_band_plot_writes_png(tmp_path):
    tau = np.geomspace(1, 1e3, 30)
    runs = np.array([1 / tau + tau / s for s in (1e3, 2e3, 4e3)])
    path = band_plot(tau, [Series("K1", runs, figures.color("K1"), "minmax")], tmp_path / "curves.png",
                     label("tau"), label("kl"))
    _assert_png(path, 6 * figures.PNG_DPI, 4 * figures.PNG_DPI)
    with pytest.raises(ValueError, match=r"series 'bad' has shape"):
        band_plot(tau, [Series("bad", runs[:, :3], "k")], tmp_path / "bad.png", label("tau"), label("kl"))


def test_progress_writes_only_to_stderr_and_can_be_silenced(capsys):
    assert list(progress(range(5), "sweep", enabled=False)) == [0, 1, 2, 3, 4]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert list(progress(range(5), "sweep", enabled=True)) == [0, 1, 2, 3, 4]
    out = capsys.readouterr()
    assert out.out == "" and "sweep" in out.err
