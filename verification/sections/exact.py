"""The exact checks (docs/theory.md §7) on every flow the report computed: Lemmas 4-5 and K2 <= K1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import Measurement

from ..rules import Inequality
from .base import Context, Section, truncated


def worst_ratios(results: Sequence[Measurement]) -> dict[str, float]:
    """The worst lhs/rhs of each lemma check ("flow:check") over every measurement."""
    worst: dict[str, float] = {}
    for r in results:
        for flow, v in r.lemmas.items():
            for k, ratio in v["worst_ratio"].items():
                worst[f"{flow}:{k}"] = max(worst.get(f"{flow}:{k}", -np.inf), ratio)
    return worst


def unresolved(k1: float, k2: float) -> bool:
    """A point whose sampler law the Fokker-Planck cells did not resolve: K2 = +inf with K1 finite (see
    :func:`lemma2_pairs`)."""
    return bool(np.isposinf(k2) and np.isfinite(k1))


def lemma2_pairs(results: Sequence[Measurement]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(K1, K2) at every point where both were measured (K2 is NaN where a run measured it at the K1
    minimum only), the sampler's law is not truncated and it was resolved; the number of truncated points
    and the number of unresolved points left out.

    An unresolved point is K2 = +inf with K1 finite: the Fokker-Planck cells left the law <= 0 where p_t0 has
    mass (:func:`empirical.kl.kl_sde`). The sampler's true law is positive everywhere (the reverse SDE has
    Gaussian noise), so its KL is finite and +inf only says that the grid did not resolve it: Lemma 2 cannot be
    judged there, as it cannot where the walls truncate the law.
    """
    pairs, excluded, n_unresolved = [], 0, 0
    for r in results:
        if "K2" in r.K:
            cut = truncated(r, "K2")
            excluded += int(cut.sum())
            for a, b, c in zip(r.K["K1"], r.K["K2"], cut):
                if c or np.isnan(b):
                    continue
                if unresolved(a, b):
                    n_unresolved += 1
                else:
                    pairs.append((a, b))
    k1, k2 = np.array(pairs).T if pairs else (np.zeros(0), np.zeros(0))
    return k1, k2, excluded, n_unresolved


def exact(ctx: Context) -> Section:
    """Lemmas 4 and 5 on both flows of every measurement of the build (:attr:`Runner.history`), and K2 <= K1
    (Lemma 2) wherever K2 was measured, including the (K1, K2) of trained networks' checkpoints (the paper's
    experiments, :attr:`Runner.checkpoint_pairs`).

    A failure is a bug in the code or in the paper: :func:`verification.report.build` raises then.
    """
    results, checkpoint_pairs = ctx.runner.history, ctx.runner.checkpoint_pairs
    lemma_ok = all(r.lemmas[f]["holds"] for r in results for f in r.lemmas)
    worst = worst_ratios(results)
    checks = [ctx.judge("lemmas-4-5-exact", Inequality(lemma_ok, {"flows": 2 * len(results),
                                                                  "worst_ratio_lhs_over_rhs": worst}))]
    k1, k2, excluded, n_unresolved = lemma2_pairs(results)
    in_2d = lemma2_pairs([r for r in results if r.config.d == 2])[0].size
    trained = np.array([(a, b) for a, b in checkpoint_pairs if np.isfinite(a) and np.isfinite(b)], dtype=float)
    n_unresolved += sum(unresolved(a, b) for a, b in checkpoint_pairs)
    if trained.size:
        k1, k2 = np.concatenate([k1, trained[:, 0]]), np.concatenate([k2, trained[:, 1]])
    checks.append(ctx.judge("K2<=K1-lemma2", Inequality(bool(np.all(k2 <= k1)), {
        "points": int(k1.size), "points_in_d2": int(in_2d), "points_trained_networks": int(trained.shape[0]),
        "excluded_truncated_points": excluded,
        "excluded_unresolved_points": n_unresolved, "max_K2_over_K1": float(np.max(k2 / k1)) if k1.size else None})))
    rows = [{"check": k, "worst lhs/rhs": v} for k, v in sorted(worst.items())]
    text = [markdown_table(rows, ["check", "worst lhs/rhs"])]
    data = {}
    if ctx.scale.mutations:
        from ..mutations import caught_line, run_mutations

        found = run_mutations()
        data["mutations"] = found
        text.append(caught_line(found) + " (deliberate engine faults, verification/mutations.py; each must be caught "
                    "by an exact check):\n\n" + markdown_table([{"mutation": r["mutation"], "caught by":
                                                                 ", ".join(r["caught_by"]) or "NOT CAUGHT"}
                                                                for r in found], ["mutation", "caught by"]))
    return Section("Exact lemmas (docs/theory.md §7) on every flow of this report", tuple(text), tuple(checks), data)
