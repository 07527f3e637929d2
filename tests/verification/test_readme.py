"""The README a newcomer reads: short, the two commands on its first screen, no unmeasured time, and its verdicts
generated from the report it links to (``python -m verification.output.summary --write README.md``)."""

from __future__ import annotations

import re
from pathlib import Path

from verification.output.summary import BEGIN, END, SOURCE, verdict_summary

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_at_most_150_lines():
    assert len(README.splitlines()) <= 150


def test_the_two_commands_are_within_the_first_40_lines():
    head = README.splitlines()[:40]
    install = "python3 -m pip install torch==2.13.0 && python3 -m pip install -e '.[test]'"
    assert any(line.startswith(install) and line.endswith("diffgen report --quick") for line in head)
    assert any(line.startswith(install) and line.endswith("&& pytest") for line in head)


def test_the_verdict_block_is_generated_from_the_report_it_links_to():
    block = README.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    path, link, label = SOURCE
    assert block == verdict_summary(ROOT / path, link, label).strip()
    assert (ROOT / link).exists()


def test_no_time_is_left_unmeasured():
    """Every time in the README is a measured number of seconds or minutes beside a named machine."""
    assert not re.search(r"TIME_|MACHINE", README)
    assert "2 cores" in README


def test_the_later_theories_stand_in_a_table_of_their_own_beside_the_papers():
    from verification.claims.registry import CLAIMS

    block = verdict_summary(ROOT / "reports/quick-baseline/results.json", SOURCE[1], SOURCE[2])
    paper, later = block.split("The later theories' predictions", 1)
    names = lambda text: set(re.findall(r"^\| `([^`]+)`", text, flags=re.M))  # noqa: E731
    assert names(later) and all(CLAIMS[c].section == "later_theories" for c in names(later))
    assert names(paper) and not any(CLAIMS[c].section == "later_theories" for c in names(paper))
    assert "arXiv 2505.17638" in later  # each row names its source
