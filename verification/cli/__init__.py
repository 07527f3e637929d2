"""The ``diffgen`` command line (:func:`main`, :mod:`~verification.cli.command`) and the engine's subcommands it runs:
``measure`` (:mod:`~verification.cli.measure`), ``halves`` (:mod:`~verification.cli.halves`) and ``train``
(:mod:`~verification.cli.train`).

Examples
--------
>>> from verification.cli import build_parser
>>> build_parser().parse_args(["diff", "old.json", "new.json"]).command
'diff'
"""

from .command import build_parser, main

__all__ = ["build_parser", "command", "halves", "main", "measure", "train"]
