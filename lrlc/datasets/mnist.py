"""MNIST in torchvision's layout: ``MNIST/raw/`` IDX files, gzipped or not."""

from __future__ import annotations

import gzip
import struct
import zlib
from functools import partial
from math import prod
from pathlib import Path

import numpy as np
import torch

from lrlc.datasets.errors import CorruptDataError, DatasetNotFoundError
from lrlc.datasets.source import Part, Source

__all__ = ["CLASSES", "KINDS", "find", "layout", "read_idx"]

CLASSES = tuple(str(digit) for digit in range(10))
KINDS = ("idx",)
FOLDER = Path("MNIST", "raw")
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def layout(root: Path) -> str:
    """The layout expected under ``root``, one path a line."""
    names = [name for pair in FILES.values() for name in pair]
    return "\n".join(f"  {root / FOLDER / name}[.gz]" for name in names)


def _pick(folder: Path, name: str) -> Path | None:
    """The plain file if present (faster to read), else the gzipped one, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find(root: Path, kind: str | None = None) -> Source | None:
    """The IDX files under ``root/MNIST/raw/``, or None unless all four are there."""
    folder = root / FOLDER
    paths = [_pick(folder, name) for pair in FILES.values() for name in pair]
    if any(path is None for path in paths):
        return None
    return Source("idx", folder, tuple(paths), partial(_read, folder))  # type: ignore[arg-type]


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzipped if its name ends in .gz) -> uint8 array."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptDataError(path, f"cannot be read ({error})") from error
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise CorruptDataError(
            path, f"not an IDX file of unsigned bytes (magic number {data[:4].hex() or 'none'})"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(path, "truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != prod(shape):
        raise CorruptDataError(
            path,
            f"truncated or padded: the header promises shape {shape} = {prod(shape)} bytes, "
            f"the file holds {len(data) - header}",
        )
    return np.frombuffer(bytearray(data), dtype=np.uint8, offset=header).reshape(shape)


def _read(folder: Path, part: str) -> Part:
    image_path, label_path = (_pick(folder, name) for name in FILES[part])
    if image_path is None or label_path is None:
        raise DatasetNotFoundError(f"MNIST {part} files are missing from {folder}")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise CorruptDataError(
            image_path, f"expected images of shape (N, 28, 28), got {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise CorruptDataError(
            label_path, f"expected {len(images)} labels (one per image), got shape {labels.shape}"
        )
    if len(labels) and labels.max() >= len(CLASSES):
        raise CorruptDataError(label_path, f"label {labels.max()} is not a digit")
    images_t = torch.from_numpy(images).unsqueeze(1)
    return Part(torch.from_numpy(labels).long(), lambda rows: images_t[rows])
