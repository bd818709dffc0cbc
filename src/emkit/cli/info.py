"""``emkit info``: what a model file holds."""

from __future__ import annotations

import argparse

from emkit.cli.models import import_all
from emkit.cli.summary import info_lines

__all__ = ["run"]


def run(args: argparse.Namespace) -> None:
    from emkit import load

    # The registered models' faces and families, so that their model files can be read.
    import_all()
    print("\n".join(info_lines(load(args.model), args.model)))
