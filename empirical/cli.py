"""The ``diffgen`` command line: one parser, subcommands registered by the modules that own them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bounds import cli as bounds_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diffgen",
        description="Bounds and measurements for 'On the Generalization Properties of Diffusion Models'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bounds_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Invalid input exits with status 2 and one line on stderr naming the parameter."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValueError as err:
        print(f"diffgen: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
