import pytest
import torch

from lrlc import results


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def results_only_in(monkeypatch):
    """``point(folder)`` makes ``lrlc.results`` look for results files in ``folder`` only:
    never in the results/ of the checkout the package came from, never on the network."""

    def point(folder):
        monkeypatch.setattr(results, "_search_dirs", lambda: [folder])
        monkeypatch.setattr(results, "_download", lambda name, kinds=(): None)

    return point
