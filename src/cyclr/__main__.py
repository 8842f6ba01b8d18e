"""``python -m cyclr``: the ``cyclr`` command (the command-line tool loads only when run)."""

import sys

if __name__ == "__main__":
    from cyclr.cli import main

    sys.exit(main())
