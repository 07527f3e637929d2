"""JSON conversion and markdown tables of ``verification.output.formats`` on hand-made cases."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from verification.output.formats import markdown_table, to_jsonable


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


def test_markdown_table_matches_hand_written_table():
    rows = [{"n": 100, "kl": 0.123456, "note": "a|b"}, {"n": 1000, "kl": float("nan")}]
    expected = ("| n | KL | note |\n"
                "| ---: | ---: | --- |\n"
                "| 100 | 0.123 | a\\|b |\n"
                "| 1000 | nan |  |\n")
    assert markdown_table(rows, {"n": "n", "kl": "KL", "note": "note"}) == expected
    assert markdown_table(rows, ["kl"], floatfmt=".2e").splitlines()[2] == "| 1.23e-01 |"
