"""The plots never show a window, and every figure is closed after its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    plt = pytest.importorskip("matplotlib.pyplot")

    def show(*_: object, **__: object) -> None:
        raise AssertionError("the library must never call show()")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")
