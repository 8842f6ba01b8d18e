from cyclr.keras._all import *  # noqa: F403
from cyclr.keras._all import __all__  # noqa: F401
