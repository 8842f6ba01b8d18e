"""The target of ``cyclr find`` and ``cyclr sweep``: a function of yours that takes no arguments
and returns the training setup, as a dict or a :class:`FindTarget`::

    # my_setup.py; run: cyclr find my_setup.py:setup
    def setup():
        model = Net()
        return {"model": model,
                "optimizer": torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                "loss_fn": torch.nn.CrossEntropyLoss(),
                "train_loader": DataLoader(train_set, batch_size=64, shuffle=True),
                "val_loader": DataLoader(val_set, batch_size=256)}  # optional

The optional ``batch_fn`` and ``loss_of_batch`` are those of :class:`FindTarget`. Errors in
your code (importing the file, calling the function, the range test on your model) become one
line naming the exception and where it was raised; ``--traceback`` shows the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import cyclr
from cyclr.cli._common import CLIError
from cyclr.cli._files import input_file

__all__ = ["FindTarget", "as_target", "call_target", "load_target", "run_on_target"]

_T = TypeVar("_T")
_CYCLR_DIR = str(Path(cyclr.__file__).resolve().parent)


@dataclass
class FindTarget:
    """What a ``cyclr find`` target function returns (a dict with the same keys works too).

    Attributes:
        model: the ``torch.nn.Module`` to test.
        optimizer: its ``torch.optim.Optimizer`` (the range test sets the LR; other settings,
            such as momentum and weight decay, are used as given).
        loss_fn: ``loss_fn(model(inputs), targets)`` -> a scalar tensor; ``None`` with
            ``loss_of_batch``.
        train_loader: an iterable of ``(inputs, targets)`` batches (or of what ``batch_fn`` or
            ``loss_of_batch`` takes); restarted when it ends.
        val_loader: optional held-out batches; a few are scored during the test.
        batch_fn: optional ``batch -> (inputs, targets)``, for loaders that yield dicts or
            other batches.
        loss_of_batch: optional ``loss_of_batch(model, batch)`` -> the loss (or ``(loss,
            output, target)``, for the accuracy), for a model that computes its own loss; give it
            instead of ``loss_fn``.

    Example:
        >>> from cyclr.cli import FindTarget
        >>> def setup() -> FindTarget:
        ...     model = torch.nn.Linear(8, 3)
        ...     data = [(torch.randn(16, 8), torch.randint(0, 3, (16,)))] * 4
        ...     return FindTarget(model, torch.optim.SGD(model.parameters(), lr=0.1),
        ...                       torch.nn.CrossEntropyLoss(), data)
        >>> setup().val_loader is None
        True
    """

    model: Any
    optimizer: Any
    loss_fn: Any
    train_loader: Any
    val_loader: Any = None
    batch_fn: Any = None
    loss_of_batch: Any = None


_TARGET_KEYS = tuple(f.name for f in dataclasses.fields(FindTarget))
_REQUIRED_KEYS = ("model", "optimizer", "loss_fn", "train_loader")
_OPTIONAL_KEYS = tuple(k for k in _TARGET_KEYS if k not in _REQUIRED_KEYS)
#: What the range test gets as keywords when the target gives them.
_PASSED_KEYS = ("batch_fn", "loss_of_batch")


def load_target(spec: str) -> Callable[[], Any]:
    """The function named by ``'path/to/file.py:function'`` or ``'package.module:function'``.

    Raises :class:`CLIError` for a malformed spec, a missing file, module or function, or an
    exception while importing.

    Example:
        >>> from cyclr.cli import load_target
        >>> load_target("cyclr.schedules.policies:policy")("1cycle").name
        'one_cycle'
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name or (len(where) == 1 and where.isalpha()):
        raise CLIError(
            f"TARGET must be 'path/to/file.py:function' or 'package.module:function', got {spec!r}"
        )
    if where.endswith(".py") or "/" in where or os.sep in where:
        module = _import_file(where)
    else:
        module = _import_module(where)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise CLIError(f"{where} has no function {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CLIError(f"{where}:{name} is a {type(obj).__name__}, not a function")
    return obj


def _import_file(where: str) -> ModuleType:
    path = input_file(where, "a Python file")
    name = f"_cyclr_target_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {where}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # let the file import its neighbours
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise _user_error(exc, f"importing {where}") from None
    return module


def _import_module(where: str) -> ModuleType:
    if "" not in sys.path and os.getcwd() not in sys.path:  # like `python -m`
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and (where == exc.name or where.startswith(exc.name + ".")):
            raise CLIError(f"no module named {exc.name!r} (from TARGET {where!r})") from None
        raise _user_error(exc, f"importing {where}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _user_error(exc, f"importing {where}") from None


def call_target(fn: Callable[[], Any], spec: str) -> FindTarget:
    """Call the target function and check what it returned (see :func:`as_target`)."""
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise CLIError(
            f"{spec} must be callable without arguments; its signature is {inspect.signature(fn)}"
        ) from None
    except ValueError:  # no signature available (some builtins): just call it
        pass
    try:
        value = fn()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise _user_error(exc, spec) from None
    return as_target(value, spec)


def as_target(value: Any, spec: str = "the target") -> FindTarget:
    """Check a target's return value (a dict or a dataclass with :class:`FindTarget`'s fields).

    Example:
        >>> from cyclr.cli import as_target, CLIError
        >>> try:
        ...     as_target({"model": object()}, "f")
        ... except CLIError as e:
        ...     print(e)
        f returned a dict without 'optimizer', 'loss_fn' (or 'loss_of_batch'), 'train_loader'
        >>> try:
        ...     as_target({"model": object(), "optimiser": object()}, "f")
        ... except CLIError as e:
        ...     print(e)  # doctest: +ELLIPSIS
        f returned unknown key 'optimiser' (did you mean 'optimizer'?); expected model, ...
    """
    expected = (
        f"{', '.join(_REQUIRED_KEYS)} (and optionally {', '.join(_OPTIONAL_KEYS)}), "
        "loss_of_batch may replace loss_fn"
    )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, Mapping):
        items = {str(k): v for k, v in value.items()}
    else:
        raise CLIError(
            f"{spec} returned {type(value).__name__}; expected a dict with the keys {expected}, "
            "or a cyclr.cli.FindTarget"
        )
    kind = "a dict" if isinstance(value, Mapping) else type(value).__name__
    unknown = sorted(set(items) - set(_TARGET_KEYS))
    if unknown:
        named = []
        for key in unknown:
            close = difflib.get_close_matches(key, _TARGET_KEYS, n=1, cutoff=0.6)
            named.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        plural = "s" if len(unknown) > 1 else ""
        raise CLIError(
            f"{spec} returned unknown key{plural} {', '.join(named)}; expected {expected}"
        )
    own_loss = items.get("loss_of_batch") is not None
    missing = [
        f"{k!r} (or 'loss_of_batch')" if k == "loss_fn" else repr(k)
        for k in _REQUIRED_KEYS
        if items.get(k) is None and not (k == "loss_fn" and own_loss)
    ]
    if missing:
        raise CLIError(f"{spec} returned {kind} without {', '.join(missing)}")
    if own_loss and items.get("loss_fn") is not None:
        raise CLIError(
            f"{spec} returned both loss_fn and loss_of_batch; give one (loss_of_batch(model, "
            "batch) computes the loss itself)"
        )
    items.setdefault("loss_fn", None)
    target = FindTarget(**items)
    _check_target_types(target, spec)
    return target


def _check_target_types(t: FindTarget, spec: str) -> None:
    import torch

    def bad(key: str, want: str, got: Any) -> CLIError:
        return CLIError(f"{spec} returned {key}={type(got).__name__}; expected {want}")

    if not isinstance(t.model, torch.nn.Module):
        raise bad("model", "a torch.nn.Module", t.model)
    if not isinstance(t.optimizer, torch.optim.Optimizer):
        raise bad("optimizer", "a torch.optim.Optimizer", t.optimizer)
    if t.loss_fn is not None and not callable(t.loss_fn):
        raise bad("loss_fn", "a callable loss_fn(outputs, targets)", t.loss_fn)
    if t.loss_of_batch is not None and not callable(t.loss_of_batch):
        raise bad("loss_of_batch", "a callable loss_of_batch(model, batch)", t.loss_of_batch)
    if t.batch_fn is not None and not callable(t.batch_fn):
        raise bad("batch_fn", "a callable batch_fn(batch) -> (inputs, targets)", t.batch_fn)
    for key in ("train_loader", "val_loader"):
        loader = getattr(t, key)
        if loader is not None and (
            isinstance(loader, (str, bytes, Mapping)) or not hasattr(loader, "__iter__")
        ):
            raise bad(key, "an iterable of batches", loader)
    held = {id(p) for g in t.optimizer.param_groups for p in g["params"]}
    if not any(id(p) in held for p in t.model.parameters()):
        raise CLIError(f"{spec} returned an optimizer that holds none of the model's parameters")


def range_test_options(args: argparse.Namespace, target: FindTarget) -> dict[str, Any]:
    """The options of every range test ``cyclr find`` and ``cyclr sweep`` run on ``target``
    that come from their shared command-line options."""
    return {
        "val_loader": target.val_loader,
        "val_every": args.val_every,
        "val_batches": args.val_batches,
        "diverge": args.diverge,
        "device": args.device,
        "seed": args.seed,
        "progress": False if args.no_progress else None,
    }


def run_on_target(
    what: str,
    loop: Callable[..., _T],
    target: FindTarget,
    *,
    keep: tuple[type[BaseException], ...] = (),
    interrupted: Callable[[KeyboardInterrupt], None] | None = None,
    **options: Any,
) -> _T:
    """``loop(model, optimizer, loss_fn, train_loader, **options)`` on the target (with its
    ``batch_fn`` and ``loss_of_batch`` when given); cyclr's own input errors and errors in the
    user's code become one line. Exceptions of the ``keep`` types propagate unchanged; on Ctrl-C
    ``interrupted(exc)`` runs first (to keep what was measured)."""
    for key in _PASSED_KEYS:
        if getattr(target, key) is not None:
            options[key] = getattr(target, key)
    try:
        return loop(target.model, target.optimizer, target.loss_fn, target.train_loader, **options)
    except keep:
        raise
    except KeyboardInterrupt as exc:
        if interrupted is not None:
            interrupted(exc)
        raise
    except SystemExit:
        raise
    except (TypeError, ValueError) as exc:
        if _from_cyclr_validation(exc):
            raise CLIError(str(exc).splitlines()[0]) from None
        raise _user_error(exc, f"{what} (your model, loss or loader)") from None
    except BaseException as exc:
        raise _user_error(exc, f"{what} (your model, loss or loader)") from None


# -- errors in the user's code -----------------------------------------------------------------
def _frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(tb))


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_CYCLR_DIR):
        return True
    return any(
        part in path for part in ("site-packages", "dist-packages", f"{os.sep}lib{os.sep}python")
    ) or filename.startswith("<frozen")


def _short_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def _user_error(exc: BaseException, what: str) -> CLIError:
    """One line for an exception raised by the user's code: type, location, message (for a
    syntax error: the user's file, line and the offending text, not the importer's frame)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        code = " ".join((exc.text or "").split())
        return CLIError(
            f"{what} raised {type(exc).__name__} at {_short_path(exc.filename)}:{exc.lineno}: "
            f"{exc.msg}" + (f" in {code!r}" if code else "") + " (rerun with --traceback for "
            "details)",
            exc,
        )
    frames = _frames(exc.__traceback__)
    user = [f for f in frames if not _is_library(f.filename)]
    frame = user[-1] if user else (frames[-1] if frames else None)
    where = ""
    if frame is not None:
        where = f" at {_short_path(frame.filename)}:{frame.lineno} in {frame.name}"
    text = str(exc).strip().splitlines()
    message = f": {text[0]}" if text else ""
    return CLIError(
        f"{what} raised {type(exc).__name__}{where}{message} (rerun with --traceback for details)",
        exc,
    )


def _from_cyclr_validation(exc: BaseException) -> bool:
    """True when ``exc`` was raised by cyclr's own input checks (not inside the user's code)."""
    frames = _frames(exc.__traceback__)
    return bool(frames) and all(os.path.abspath(f.filename).startswith(_CYCLR_DIR) for f in frames)
