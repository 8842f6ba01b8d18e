"""``python -m cyclr.cli``: the ``cyclr`` command."""

import sys

from cyclr.cli import main

sys.exit(main())
