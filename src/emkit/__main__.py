"""``python -m emkit``: the emkit command line."""

import sys

from emkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
