"""What the report measures, as designs of stored tasks: the sweeps and their scales
(:mod:`~verification.designs.sweeps`), the later theories' runs (:mod:`~verification.designs.later_runs`), the paper's
training runs (:mod:`~verification.designs.paper_runs`) and the MNIST experiment, random-feature and network routes
(:mod:`~verification.designs.mnist`, :mod:`~verification.designs.mnist_network`).
"""

__all__ = ["later_runs", "mnist", "mnist_network", "paper_runs", "sweeps"]
