from cyclr.cli._all import *  # noqa: F403
from cyclr.cli._all import __all__, main  # noqa: F401
