"""Models that packages add to emkit: entry points of the group ``emkit.models``.

An entry point names an estimator face or a :class:`emkit.families.Family` (see
:mod:`emkit.cli.models` for the names the command line gives them). Importing its module
registers the face or family, so that ``emkit.load`` and model files of mixtures and HMMs
know it; :func:`import_plugins` does that when a model file names a kind or family that no
imported module has registered.
"""

from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "emkit.models"


def import_plugins() -> None:
    """Import the module of every entry point of :data:`GROUP`. One that cannot be imported
    is left out: a broken package must not keep other model files from being read, and a
    file that needs it still fails, naming its kind or family."""
    for entry in entry_points(group=GROUP):
        try:
            entry.load()
        except Exception:  # whatever a package's import raises
            continue
