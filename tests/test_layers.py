"""Imports point one way: the import contracts hold, no module imports itself through others,
no private name is imported from another package, and the core loads no framework.

The contracts live in pyproject.toml (``[tool.importlinter]``): the layers (app over adapters
over the numpy-only core) and the core's ban on frameworks. import-linter reads the import
statements, including those inside functions, so it cannot tell a lazy import from an eager one;
the second test imports the packages in a fresh interpreter and looks at what got loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

HEAVY = {
    "torch",
    "matplotlib",
    "keras",
    "jax",
    "optax",
    "lightning",
    "pytorch_lightning",
    "mnist1d",
    "tqdm",
    "sklearn",
}
CORE = ("cyclr.schedules", "cyclr.range_test", "cyclr.suggest", "cyclr.sweep", "cyclr.online")


def _env() -> dict[str, str]:
    """This checkout's src/ first on the path, whatever cyclr is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def test_import_contracts_hold() -> None:
    from importlinter.api import read_configuration

    contracts = [
        c["name"] for c in read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]
    ]
    assert len(contracts) >= 2, contracts
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    out = subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = out.stdout + out.stderr
    assert out.returncode == 0, f"lint-imports failed:\n{report}"
    for name in contracts:
        assert f"{name} KEPT" in report, f"contract {name!r} not reported as kept:\n{report}"


def test_core_and_lazy_packages_import_no_framework() -> None:
    # Every module of the core, and the packages that import their framework lazily.
    code = f"""
import importlib, pkgutil, sys
import cyclr, cyclr.torch, cyclr.plot
for pkg in {CORE!r}:
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
        importlib.import_module(info.name)
print(sorted({HEAVY!r} & {{m.split(".")[0] for m in sys.modules}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"frameworks loaded: {out.stdout.strip()}"


def _cycles(imported_by: Callable[[str], set[str]], modules: set[str]) -> list[list[str]]:
    """The import cycles among ``modules``: strongly connected components of more than one
    module (Tarjan), every import counted, those inside functions and ``TYPE_CHECKING`` too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in imported_by(m) & modules:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return found


def test_no_module_imports_itself_through_others_lazy_imports_included() -> None:
    import grimp

    graph = grimp.build_graph("cyclr", exclude_type_checking_imports=False)
    assert _cycles(graph.find_modules_directly_imported_by, set(graph.modules)) == []


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import() -> None:
    imports = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycles(imports.__getitem__, set(imports)) == [["a", "b"]]


def _private_imports(path: Path, src: Path = SRC) -> list[str]:
    """``importer: name`` for every private name (a module or a name starting with ``_``) that
    the module at ``path`` (under ``src``) imports from outside the package that holds it."""
    import ast

    rel = path.relative_to(src).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    importer = ".".join(parts)
    package = ".".join(rel.parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            dotted = [f"{node.module}.{a.name}".split(".") for a in node.names]
        elif isinstance(node, ast.Import):
            dotted = [a.name.split(".") for a in node.names]
        else:
            continue
        for names in dotted:
            if names[0] != "cyclr":
                continue
            for i, name in enumerate(names):
                holder = names[:i]  # a private module's package, or a private name's module
                if src.joinpath(*holder).with_suffix(".py").is_file():
                    holder = holder[:-1]  # a module's names are its package's
                owner = ".".join(holder)
                private = name.startswith("_") and not name.startswith("__")
                if private and not (package == owner or package.startswith(owner + ".")):
                    found.append(f"{importer}: {'.'.join(names)}")
                    break
    return found


def test_no_private_name_is_imported_across_packages() -> None:
    found = [x for p in sorted((SRC / "cyclr").rglob("*.py")) for x in _private_imports(p)]
    assert found == []


def test_the_private_import_scan_tells_a_package_s_own_privates_from_others(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "cyclr" / "sweep"
    fake.mkdir(parents=True)
    (fake / "result.py").write_text("")
    (tmp_path / "cyclr" / "range_test").mkdir()
    (tmp_path / "cyclr" / "range_test" / "result.py").write_text("")
    (fake / "reading.py").write_text(
        "from cyclr import _validate\n"
        "from cyclr.sweep._own import x\n"
        "from cyclr.suggest._curve import MIN_POINTS\n"
        "from cyclr.range_test.result import _plain\n"
        "from cyclr.sweep.result import _plain\n"
        "import cyclr.torch._auto\n"
    )
    assert _private_imports(fake / "reading.py", tmp_path) == [
        "cyclr.sweep.reading: cyclr.suggest._curve.MIN_POINTS",
        "cyclr.sweep.reading: cyclr.range_test.result._plain",
        "cyclr.sweep.reading: cyclr.torch._auto",
    ]
