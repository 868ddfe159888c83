"""What the dataset readers hand to ``lrlc.data.load``: a found source and its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

__all__ = ["Part", "Source"]


@dataclass(frozen=True)
class Part:
    """The rows of one file-level split of a source, in file order.

    labels: (N,) int64. attributes: (N, A) int64 in {0, 1}, or None.
    decode(indices): (n,) int64 row indices -> images (n, C, H, W) uint8; only the rows asked
    for are decoded, so a quick subset of an image folder decodes only its own images.
    subset: the source knows it is not the official data (e.g. a CelebA partition file that
    is not the official one). note: what a reader of results must know about these rows
    (a home-made partition, lossy JPEG copies), or "".
    """

    labels: Tensor
    decode: Callable[[Tensor], Tensor]
    attributes: Tensor | None = None
    attribute_names: tuple[str, ...] | None = None
    subset: bool = False
    note: str = ""


@dataclass(frozen=True)
class Source:
    """One layout of a dataset found under the data root.

    kind: short name of the layout ("idx", "pickle", "images", "images-matched", "folder",
    "zip").
    path: the folder or file it is read from. watch: the paths whose size and modification
    time key the cache (a changed file makes a new cache entry). read(part) reads one
    file-level split: "train" or "test" (MNIST, CIFAR-10), or "train", "valid", "test"
    (CelebA, from its partition file).
    """

    kind: str
    path: Path
    watch: tuple[Path, ...]
    read: Callable[[str], Part]
