"""Appendix C documents every public name of the package.

A name in the ``__all__`` of ``lrlc`` or of one of its modules (``lrlc/*.py``; the
``lrlc.datasets`` readers are reached through ``lrlc.data``) must be the target of an
autodoc directive (or a hand-written ``py:function``) in Appendix C, under its own module
or under another path that gives the same object; every directive's target must exist;
and every module must be named in the appendix's module table (or have all its public
names in ``lrlc``'s own).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPENDIX_C = ROOT / "book" / "appendix_c_api.md"
MODULES = ["lrlc", *(f"lrlc.{p.stem}" for p in sorted((ROOT / "lrlc").glob("[!_]*.py")))]
DIRECTIVE = re.compile(
    r"^\.\. (?:auto(?:function|class|data|exception)|py:function):: (lrlc[\w.]*)", re.M
)


def _resolve(path: str) -> object:
    """The object a dotted path ``lrlc.module.name`` names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _documented() -> list[str]:
    return DIRECTIVE.findall(APPENDIX_C.read_text())


def test_directives_find_names():
    paths = _documented()
    assert len(paths) > 50, "the directive pattern no longer matches the appendix"
    for path in paths:
        _resolve(path)  # raises if the appendix names something that does not exist


@pytest.mark.parametrize("module", MODULES)
def test_public_names_are_documented(module: str):
    documented = [_resolve(path) for path in _documented()]
    mod = importlib.import_module(module)
    missing = [
        name
        for name in getattr(mod, "__all__", [])
        if f"{module}.{name}" not in _documented()
        and not any(getattr(mod, name) is obj for obj in documented)
    ]
    assert not missing, f"{module} exports {missing}, which Appendix C does not document"


@pytest.mark.parametrize("module", MODULES[1:])
def test_modules_are_in_the_table(module: str):
    """Modules whose public names are all re-exported by ``lrlc`` are in its row."""
    table = [line for line in APPENDIX_C.read_text().splitlines() if line.startswith("| `lrlc")]
    in_package = set(importlib.import_module("lrlc").__all__)
    exported = set(getattr(importlib.import_module(module), "__all__", []))
    if exported <= in_package:  # also a module with no public names of its own
        return
    assert any(f"`{module}`" in line for line in table), f"{module} is not in the module table"


def test_the_package_version_is_the_one_pip_installs():
    """``lrlc.__version__`` is written in two places: ``pyproject.toml`` and the package."""
    import lrlc

    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared is not None and lrlc.__version__ == declared.group(1)
