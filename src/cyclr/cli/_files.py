"""The files the ``cyclr`` commands write: checked before any work (so a long range test is never
lost to an unwritable output), the plots, and what an interrupted test leaves behind.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cyclr
from cyclr.cli._common import (
    EXIT_NO_SUGGESTION,
    CLIError,
    bounds_text,
    install_hint,
    out,
    scheduler_code,
)

__all__ = [
    "OutputFiles",
    "image_path",
    "input_file",
    "keep_partial_sweep",
    "keep_partial_test",
    "prepare_dir",
    "report_bounds",
    "save_plot",
]


def input_file(text: str, expected: str) -> Path:
    """The file ``text`` names, a non-empty regular file: raises :class:`CLIError` saying what
    is there instead (nothing, a folder, a device or pipe, an empty file) and that ``expected``
    was expected."""
    path = Path(text)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CLIError(f"no such file: {text}") from None
    except OSError as exc:
        raise CLIError(f"cannot read {text}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise CLIError(f"{text} is a folder; expected {expected}")
    if not path.is_file():
        raise CLIError(f"{text} is not a regular file; expected {expected}")
    if info.st_size == 0:
        raise CLIError(f"{text} is empty; expected {expected}")
    return path


def prepare_dir(path: str, files: Iterable[str] = (), flag: str = "--out") -> Path:
    """The ``--out`` folder, created if needed, after checking that each of ``files`` can be
    written in it: raises :class:`CLIError` for a folder that cannot be created or written to,
    or a folder (or read-only file) where one of the files goes."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"{flag} {path}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot create the folder ({exc.strerror or exc})") from None
    for name in files:
        target = folder / name
        if target.is_dir():
            raise CLIError(f"{flag} {path}: {target} is a folder; cyclr writes a file there")
        if target.exists() and not os.access(target, os.W_OK):
            raise CLIError(f"{flag} {path}: cannot write {target} (it is read-only)")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(
            f"{flag} {path}: cannot write files in this folder ({exc.strerror or exc})"
        ) from None
    return folder


class OutputFiles:
    """The files a command owns in its ``--out`` folder: the first time one of them is written
    (:meth:`fresh`), those an earlier run left are removed, so that the folder holds only this
    run's; no other file is touched, nor a folder of the same name. A run that writes nothing
    leaves the folder as it was."""

    def __init__(self, folder: Path, names: Iterable[str]) -> None:
        self.folder = folder
        self.names = tuple(names)
        self.cleared = False

    def fresh(self) -> None:
        """Remove what an earlier run left (once, before this run's first file)."""
        if self.cleared:
            return
        self.cleared = True
        for name in self.names:
            path = self.folder / name
            if path.is_symlink() or path.is_file():
                try:
                    path.unlink()
                except OSError as exc:
                    raise CLIError(
                        f"cannot remove {path} of an earlier run: {exc.strerror or exc}"
                    ) from None


def _image_formats() -> dict[str, str] | None:
    """The file formats matplotlib writes (``None`` without matplotlib)."""
    if importlib.util.find_spec("matplotlib") is None:
        return None
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def image_path(text: str, flag: str) -> Path:
    """Where an image given as ``flag text`` goes: ``.png`` appended when ``text`` has no
    extension (as matplotlib would do, so that the path printed is the one written); raises
    :class:`CLIError` for a format matplotlib cannot write, a missing folder or a folder in
    its place."""
    path = Path(text)
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    formats = _image_formats()
    kind = path.suffix[1:].lower()
    if formats is not None and kind not in formats:
        raise CLIError(
            f"{flag} {text}: unknown image format {kind!r}; use one of {', '.join(sorted(formats))}"
        )
    if not path.parent.is_dir():
        raise CLIError(f"{flag} {text}: folder {path.parent} does not exist")
    if path.is_dir():
        raise CLIError(f"{flag} {text}: is a folder")
    return path


def save_plot(
    path: Path, draw: Callable[[Any], object], size: tuple[float, float] = (8, 5)
) -> bool:
    """``draw(ax)`` on a figure of ``size`` inches written to ``path``; ``False`` (and a note on
    stderr) without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        print(
            f"cyclr: matplotlib is not installed; no plot ({install_hint('plot')})",
            file=sys.stderr,
        )
        return False
    from matplotlib.figure import Figure

    import cyclr.plot  # noqa: F401  (``draw`` uses it)

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    draw(fig.add_subplot())
    try:
        fig.savefig(path)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return True


def report_bounds(
    result: cyclr.RangeTestResult,
    bounds: cyclr.Bounds | None,
    ipe: int | None,
    json_path: Path | None,
    png: Path | None,
) -> int:
    """Write the plot, then print the files, the bounds and the scheduler code; the exit
    status (1 when ``bounds`` is ``None``)."""
    written = [json_path] if json_path is not None else []
    if png is not None and save_plot(
        png, lambda ax: cyclr.plot.range_test(result, bounds=bounds, ax=ax)
    ):
        written.append(png)
    if written:
        out(f"Wrote {', '.join(str(p) for p in written)}.")
    if bounds is None:
        return EXIT_NO_SUGGESTION
    out("", *bounds_text(bounds), "", scheduler_code(bounds, ipe))
    if json_path is not None:
        out("", f"Compare every rule, without torch: cyclr suggest {json_path} --method all")
    return 0


# -- Ctrl-C: keep what was measured -------------------------------------------------------------
def _note(text: str) -> None:
    print(f"cyclr: {text}", file=sys.stderr)


def _save(
    save: Callable[[Path], object],
    path: Path,
    what: str,
    kept: str = "the curve so far is",
    it: str = "it",
) -> None:
    """``save(path)``, then say on stderr ``what`` happened and where ``kept`` went (or why
    ``it`` could not be saved)."""
    try:
        save(path)
    except (OSError, ValueError, TypeError) as exc:
        _note(f"{what}; could not save {it} to {path}: {getattr(exc, 'strerror', None) or exc}")
    else:
        _note(f"{what}; {kept} in {path}")


def keep_partial_test(
    exc: BaseException, path: Path, before: Callable[[], object] | None = None
) -> None:
    """Save the curve attached to an interrupted range test (``exc.range_test_result``) to
    ``path``, after calling ``before``, and say where on stderr; nothing is written (nor
    ``before`` called) when no update was recorded."""
    result = getattr(exc, "range_test_result", None)
    if not isinstance(result, cyclr.RangeTestResult) or len(result) == 0:
        _note("interrupted before the first update")
        return
    if before is not None:
        before()
    _save(result.save, path, f"interrupted after {len(result)} updates")


def keep_partial_sweep(exc: BaseException, path: Path) -> None:
    """Save the range tests of an interrupted sweep (``exc.sweep_result``, the last one partial)
    to ``path`` and say where on stderr; nothing is written when no update was recorded."""
    result = getattr(exc, "sweep_result", None)
    if not isinstance(result, cyclr.SweepResult) or not any(len(r) for r in result.results):
        _note("interrupted before the first update")
        return
    last = result.results[-1]
    what = (
        f"interrupted at {result.label} = {result.values[-1]:g} after {len(last)} updates "
        f"({len(result.results)} range tests so far)"
    )
    _save(result.save, path, what, "the tests so far are", "them")
