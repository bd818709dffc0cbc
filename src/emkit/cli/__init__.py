"""The ``emkit`` command line (entry point :func:`emkit.cli.main.main`)."""
