"""nbval of the chapters: those that need CelebA are skipped, with the fix,
where CelebA is not in place (it never downloads itself; Appendix B says
where to put it). In CI (``$CI`` set) nothing is skipped: there a missing
CelebA fails the chapters."""

from __future__ import annotations

import pytest

from lrlc import data

NEEDS_CELEBA = ("07_celeba.ipynb", "08_input_dependent.ipynb")


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    # CI=1 (or true, yes, on), read as lrlc reads its own LRLC_QUICK
    if data._flag("CI") or data.available("celeba"):
        return
    root = data.data_root().resolve()
    skip = pytest.mark.skip(
        reason=f"CelebA is not under the data root {root}: put it there or "
        "set LRLC_DATA to a folder that holds it (Appendix B, 'Layouts')"
    )
    for item in items:
        if item.path.name in NEEDS_CELEBA:
            item.add_marker(skip)
