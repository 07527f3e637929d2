"""The paper's own experiments (Figs. 3-5, 8-11) as designs of stored training runs (docs/theory.md §10): the
sizes (:class:`PaperDesign`), the runs they ask for, and the experiment through the result store. The runs
themselves (:class:`~empirical.training.paper_runs.PaperRun`, :class:`~empirical.training.paper_runs.FlowRun`, their training and
measurement) are the engine's, :mod:`empirical.training.paper_runs`; ``PAPER_VERSION`` is part of every task's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from empirical.training.paper_runs import FlowRun, PaperRun, run_flow, run_paper
from empirical.training import MEASURES

from ..store.runner import Runner


@dataclass(frozen=True)
class PaperDesign:
    """Sizes of the paper-experiments section.

    Figs. 3/8 and 4-5/9-10: width, n, epochs, eval_every, seeds, sgd_lr, adam_lr, mu (3) and mu_far (15).
    Fig. 11: widths, width_seeds, width_epoch (the epoch whose K2 is compared, 1000), width_cap (training
    stops there at the latest), width_eval_every, kl_target (0.1); a run stops once both are known.
    Discrete vs flow: flow_m features, flow_lr, flow_epochs, flow_eval_every, flow_seeds (OU, µ = mu).
    measures / width_measures: what is measured at each checkpoint (K2 always).
    density_epochs: the checkpoints whose sampler density is stored (the paper's panels: 100, 1000, 1900).
    """

    seeds: tuple[int, ...]
    epochs: int
    eval_every: int
    widths: tuple[int, ...]
    width_seeds: tuple[int, ...]
    width_epoch: int
    width_cap: int
    width_eval_every: int
    flow_seeds: tuple[int, ...]
    flow_epochs: int
    flow_eval_every: int
    width: int = 16
    n: int = 1000
    mu: float = 3.0
    mu_far: float = 15.0
    sgd_lr: float = 0.5
    adam_lr: float = 1e-3
    kl_target: float = 0.1
    flow_m: int = 16
    flow_lr: float = 0.05
    sde: str = "ve"
    measures: tuple[str, ...] = MEASURES
    width_measures: tuple[str, ...] = ("K2", "grid_kl")
    density_epochs: tuple[int, ...] = (100, 1000, 1900)


def runs(design: PaperDesign) -> dict[str, list[PaperRun]]:
    """The training tasks of a design, by experiment: 'sgd' and 'adam' at µ = mu and µ = mu_far ('sgd_far',
    'adam_far'), and 'width' (Fig. 11, SGD, one list over widths x width_seeds)."""
    base = dict(width=design.width, n=design.n, epochs=design.epochs, eval_every=design.eval_every, sde=design.sde,
                measures=design.measures, density_epochs=design.density_epochs)
    out = {}
    for opt, lr in (("sgd", design.sgd_lr), ("adam", design.adam_lr)):
        for suffix, mu in (("", design.mu), ("_far", design.mu_far)):
            out[opt + suffix] = [PaperRun(optimizer=opt, lr=lr, mu=mu, seed=s, **base) for s in design.seeds]
    out["width"] = [PaperRun(width=w, optimizer="sgd", lr=design.sgd_lr, epochs=design.width_cap,
                             eval_every=design.width_eval_every, mu=design.mu, n=design.n, seed=s, sde=design.sde,
                             measures=design.width_measures, stop_epoch=design.width_epoch,
                             kl_target=design.kl_target)
                    for w in design.widths for s in design.width_seeds]
    return out


def flow_runs(design: PaperDesign) -> list[FlowRun]:
    """The discrete-vs-flow tasks of a design."""
    return [FlowRun(m=design.flow_m, lr=design.flow_lr, epochs=design.flow_epochs, eval_every=design.flow_eval_every,
                    mu=design.mu, n=design.n, seed=s) for s in design.flow_seeds]


def experiment(runner: Runner, design: PaperDesign, desc: str = "paper experiments") -> dict:
    """Every task of ``design`` through the store: ``{name: [result, ...]}`` for :func:`runs` and 'flow'."""
    groups = runs(design)
    tasks = [t for ts in groups.values() for t in ts]
    found = runner.run_tasks(run_paper, tasks, [t.key() for t in tasks], "paper", desc + ": training runs")
    out, i = {}, 0
    for name, ts in groups.items():
        out[name] = found[i:i + len(ts)]
        i += len(ts)
    flows = flow_runs(design)
    out["flow"] = runner.run_tasks(run_flow, flows, [f.key() for f in flows], "paper-flow", desc + ": RF vs flow")
    return out
