"""``emkit info``: what a model file holds."""

from __future__ import annotations

import argparse

from emkit.cli.summary import info_lines

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit import load

    print("\n".join(info_lines(load(args.model), args.model)))
