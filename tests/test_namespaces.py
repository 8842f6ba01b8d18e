"""dir() of every public package shows its public API only (no imported helpers)."""

from __future__ import annotations

import importlib

import pytest

import cyclr

PACKAGES = ["cyclr", "cyclr.plot", "cyclr.schedules", "cyclr.range_test", "cyclr.demo"]


@pytest.mark.parametrize("name", PACKAGES)
def test_dir_shows_the_public_api_only(name: str) -> None:
    module = importlib.import_module(name)
    listed = set(dir(module))
    public = set(module.__all__) | (set(cyclr.SUBPACKAGES) if name == "cyclr" else set())
    assert listed == public | ({"__version__"} & listed)
    assert not {"annotations", "np", "numpy", "importlib", "math"} & listed
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr} is listed but missing"


def test_every_subpackage_named_exists() -> None:
    for sub in cyclr.SUBPACKAGES:
        assert importlib.util.find_spec(f"cyclr.{sub}") is not None, sub
