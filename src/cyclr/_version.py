"""The version of cyclr (read by the build, and by results that record it)."""

__version__ = "0.1.0"
