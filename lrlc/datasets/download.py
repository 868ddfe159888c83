"""Download MNIST and CIFAR-10 with torchvision, never leaving a partial file behind.

torchvision writes straight to the final file name, so an interrupted download leaves a
truncated file that looks present. Here it downloads into a temporary folder inside the
data root, and only complete files are moved into place (a rename on the same disk); the
temporary folder is always removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["DOWNLOADABLE", "download"]

DOWNLOADABLE = {"mnist": Path("MNIST", "raw"), "cifar10": Path("cifar-10-batches-py")}


def _torchvision_download(name: str, target: Path) -> None:
    """Let torchvision download ``name`` into the folder ``target``."""
    from torchvision import datasets

    if name == "mnist":
        datasets.MNIST(str(target), train=True, download=True)
    elif name == "cifar10":
        datasets.CIFAR10(str(target), train=True, download=True)
    else:
        raise ValueError(f"{name} cannot be downloaded automatically")


def download(name: str, root: Path) -> None:
    """Download dataset ``name`` ("mnist" or "cifar10") into torchvision's layout under root.

    Raises whatever the download raised; the caller turns it into a clear error.
    """
    folder = DOWNLOADABLE[name]
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".lrlc-download-{name}-", dir=root))
    try:
        _torchvision_download(name, tmp)
        source = tmp / folder
        if not source.is_dir():
            raise FileNotFoundError(f"the download did not produce {folder}")
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted(source.iterdir()):
            if file.is_file():
                os.replace(file, target / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
