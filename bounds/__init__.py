"""Theorems 1 and 2 of Li, Li, Zhang, Bian (NeurIPS 2023) as symbolic, evaluable bounds."""
