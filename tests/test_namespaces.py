"""Every public package lists its API in ``__all__``, and ``dir()`` is Python's own."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "cyclr",
    "cyclr.online",
    "cyclr.plot",
    "cyclr.range_test",
    "cyclr.schedules",
    "cyclr.suggest",
    "cyclr.sweep",
    "cyclr.demo",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_every_public_name_and_only_names_that_exist(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr} is listed but missing"
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attr != "annotations"
        and getattr(value, "__module__", name).startswith("cyclr")
    }
    assert public <= set(module.__all__), f"{name}: not in __all__: {public - set(module.__all__)}"


@pytest.mark.parametrize("name", [*PACKAGES, "cyclr.cli", "cyclr.optax"])
def test_no_package_overrides_dir(name: str) -> None:
    module = importlib.import_module(name)
    assert "__dir__" not in vars(module)
    assert set(module.__all__) <= set(dir(module))
