"""Training score networks by denoising score matching: the one loop (:mod:`~empirical.training.dsm`), the paper's
1-D networks (:mod:`~empirical.training.nets`) and the authors' training and checkpoint measurements
(:mod:`~empirical.training.authors`), their runs as report tasks (:mod:`~empirical.training.paper_runs`), the
authors' grid metric (:mod:`~empirical.training.grid_metric`) and device and thread choice
(:mod:`~empirical.training.devices`). The MNIST network trains with the same loop (:mod:`empirical.mnist.network`).

Examples
--------
>>> import numpy as np
>>> from empirical.training import train
>>> from empirical.training.nets import SwishNet
>>> recs = train(SwishNet(8, seed=0), np.random.default_rng(0).normal(size=32), lr=0.1, epochs=2, eval_every=1)
>>> [r["epoch"] for r in recs]
[0, 1, 2]
"""

from .authors import (BATCH_SIZE, EPS_DEFAULT, MEASURES, checkpoint_epochs, measure_checkpoint, population_dsm_loss,
                      sde_eps, split_seed, train)
from .dsm import DIVERGENCE_FACTOR, OPTIMIZERS, TrainingDiverged

__all__ = ["BATCH_SIZE", "DIVERGENCE_FACTOR", "EPS_DEFAULT", "MEASURES", "OPTIMIZERS", "TrainingDiverged", "authors",
           "checkpoint_epochs", "devices", "dsm", "grid_metric", "measure_checkpoint", "nets", "paper_runs",
           "population_dsm_loss", "sde_eps", "split_seed", "train"]
