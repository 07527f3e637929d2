"""``diffgen bound | early-stop | rates``: the bound calculator's subcommands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the ``diffgen`` parser."""
