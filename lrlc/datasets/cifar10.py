"""CIFAR-10: torchvision's python pickles, or an image tree ``{train,test}/<class>/*``.

Where it looks under the data root (first found wins within each kind):

- ``pickle``: ``cifar-10-batches-py/`` (torchvision's download), then
  ``cifar10-subset/cifar-10-batches-py/``; whichever batch files are present are read.
- ``images``: the folders ``cifar10-jpeg/`` or ``cifar10/`` holding ``{train,test}/<class>/``,
  then the tarball ``cifar10-jpeg.tar.gz`` of such a tree, read without extracting it.
- ``images-matched``: the image tree's copies of exactly the images the pickles hold, in the
  pickles' order (never chosen by default). With a lossy tree (JPEG) and a lossless partial
  set of pickles, this trains on the same images, the same splits and the same batches as
  ``pickle`` does, with only the compression differing: the check of what JPEG changes.
  Image k of a class in the pickles is the tree's file k of that class (by name); every
  pair is checked to be the same picture (:data:`MATCH_MIN_PSNR`).

With no ``kind`` asked for: complete pickles (all five training batches and the test batch),
else an image tree, else whatever pickles there are. An image tree does not record the
official order across classes (only within a class, by file name), so its rows are
interleaved: the first image of every class in class order, then the second, and so on.
The validation split, the first 10% of the rows, is then balanced across classes.
"""

from __future__ import annotations

import pickle
import re
import tarfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lrlc.datasets.errors import CorruptDataError, DatasetNotFoundError
from lrlc.datasets.images import decode
from lrlc.datasets.source import Part, Source

__all__ = ["CLASSES", "KINDS", "MATCH_MIN_PSNR", "find", "layout"]

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
KINDS = ("pickle", "images", "images-matched")
PICKLE_FOLDERS = (Path("cifar-10-batches-py"), Path("cifar10-subset", "cifar-10-batches-py"))
TREE_FOLDERS = (Path("cifar10-jpeg"), Path("cifar10"))
TARBALLS = (Path("cifar10-jpeg.tar.gz"),)
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TREE_NOTE = (
    "read from an image tree, whose rows interleave the classes (image k of every class in "
    "turn): the validation split is the first 10% of that order, not of the official one"
)
JPEG_NOTE = "decoded from JPEG copies: lossy, pixels differ slightly from the official images"
MATCHED_NOTE = "the image tree's copies of exactly the images of the pickles in {}, in their order"
MATCH_MIN_PSNR = 20.0
"""dB: the least peak signal-to-noise ratio a tree image may have against the pickle image it
stands for in ``images-matched``. A JPEG copy of quality 75 of the same picture scores 23 dB
or more (median 30.5 on the book's copy), two different pictures at most 18."""


def decoded_from_jpeg(note: str) -> bool:
    """Whether a data note says its images were decoded from JPEG copies (``JPEG_NOTE``,
    at the start of a sentence or within one)."""
    return JPEG_NOTE.casefold() in note.casefold()


def layout(root: Path) -> str:
    """The layouts accepted under ``root``, one a line."""
    return "\n".join(
        [
            f"  {root / PICKLE_FOLDERS[0]}/data_batch_1..5, test_batch (torchvision's pickles)",
            f"  {root / TREE_FOLDERS[0]}/{{train,test}}/<class>/*.jpg|png (an image tree)",
            f"  {root / TARBALLS[0]} (a tarball of such a tree)",
        ]
    )


def find(root: Path, kind: str | None = None) -> Source | None:
    """The preferred CIFAR-10 source under ``root`` (of ``kind`` if given), or None."""
    pickles = [root / f for f in PICKLE_FOLDERS if _batches(root / f)]
    complete = [f for f in pickles if len(_batches(f)) == 6]
    trees = [root / f for f in TREE_FOLDERS if any((root / f / p).is_dir() for p in BATCHES)]
    tarballs = [root / f for f in TARBALLS if (root / f).is_file()]
    tree = _tree_source(trees[0]) if trees else _tarball_source(tarballs[0]) if tarballs else None
    if kind == "images-matched":
        return _matched_source(_pickle_source(pickles[0]), tree) if pickles and tree else None
    if kind == "pickle" or (kind is None and complete):
        return _pickle_source((complete or pickles)[0]) if pickles else None
    if tree is not None:
        return tree
    if kind is None and pickles:
        return _pickle_source(pickles[0])
    return None


# Pickles --------------------------------------------------------------------------------


def _batches(folder: Path) -> list[Path]:
    return [folder / n for names in BATCHES.values() for n in names if (folder / n).is_file()]


def _pickle_source(folder: Path) -> Source:
    return Source("pickle", folder, tuple(_batches(folder)), partial(_read_pickles, folder))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a batch file cannot run code."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images (N, 3, 32, 32) uint8, labels (N,) int64."""
    try:
        with open(path, "rb") as file:
            entry = _ArrayUnpickler(file, encoding="latin1").load()
        entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry["labels"], dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError, LookupError, ValueError, TypeError) as e:
        problem = f"{type(e).__name__}: {e}"
        raise CorruptDataError(path, f"not a CIFAR-10 batch ({problem})") from e
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        raise CorruptDataError(
            path,
            f"expected data of shape (N, 3072) and N labels, got {data.shape} and {labels.shape}",
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise CorruptDataError(path, f"labels outside 0..9 ({labels.min()}..{labels.max()})")
    return data.reshape(-1, 3, 32, 32), labels


def _read_pickles(folder: Path, part: str) -> Part:
    paths = [folder / name for name in BATCHES[part] if (folder / name).is_file()]
    if not paths:
        raise DatasetNotFoundError(
            f"CIFAR-10 {part} batches are missing from {folder}: expected "
            f"{' or '.join(BATCHES[part])}. Fix: put them there (from torchvision's download, "
            "lrlc.data.load('cifar10', download=True) into an empty root), or read another "
            "copy with source='images' or root="
        )
    batches = [_read_batch(path) for path in paths]
    images = torch.from_numpy(np.concatenate([b[0] for b in batches]))
    labels = torch.from_numpy(np.concatenate([b[1] for b in batches]))
    return Part(labels, lambda rows: images[rows])


# Image trees ------------------------------------------------------------------------------


def _natural(name: str) -> tuple:
    """Sort key that puts "2.jpg" before "10.jpg"."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _interleave(entries: list[tuple[int, str, object]]) -> list[tuple[int, str, object]]:
    """(class, name, ref) -> the k-th image of every class in class order, for k = 0, 1, ..."""
    rank: dict[int, int] = {}
    keyed = []
    for cls, name, ref in sorted(entries, key=lambda e: (e[0], _natural(e[1]))):
        rank[cls] = rank.get(cls, -1) + 1
        keyed.append(((rank[cls], cls), (cls, name, ref)))
    return [entry for _, entry in sorted(keyed, key=lambda k: k[0])]


def _class_index(name: str, where: str) -> int:
    if name not in CLASSES:
        raise CorruptDataError(where, f"{name!r} is not a CIFAR-10 class; expected {CLASSES}")
    return CLASSES.index(name)


def _tree_part(
    entries: list[tuple[int, str, object]],
    read: Callable[[object], tuple[bytes, str]],
    where: str,
    part: str,
) -> Part:
    """The images of one file-level split (``part``: "train" or "test") of an image tree.
    The note names the interleaved order only for "train", where the validation split is
    cut from it, and the JPEG loss for any part read from JPEG files."""
    if not entries:
        raise DatasetNotFoundError(
            f"no CIFAR-10 images of this split in {where}. Fix: put them in <split>/<class>/ "
            "there, or read another copy with source= or root="
        )
    entries = _interleave(entries)
    labels = torch.tensor([cls for cls, _, _ in entries], dtype=torch.int64)

    def decode_rows(rows: Tensor) -> Tensor:
        out = torch.empty(len(rows), 3, 32, 32, dtype=torch.uint8)
        for i, row in enumerate(rows.tolist()):
            data, name = read(entries[row][2])
            image = decode(data, name)
            if image.shape != (3, 32, 32):
                raise CorruptDataError(name, f"expected a 32x32 image, got {tuple(image.shape)}")
            out[i] = image
        return out

    lossy = any(name.lower().endswith((".jpg", ".jpeg")) for _, name, _ in entries)
    notes = ([TREE_NOTE] if part == "train" else []) + ([JPEG_NOTE] if lossy else [])
    return Part(labels, decode_rows, note="; ".join(notes))


def _tree_source(tree: Path) -> Source:
    watch = [tree / p for p in ("train", "test") if (tree / p).is_dir()]
    watch += [d for p in watch for d in sorted(p.iterdir()) if d.is_dir()]
    return Source("images", tree, tuple(watch), partial(_read_tree, tree))


def _read_tree(tree: Path, part: str) -> Part:
    folder = tree / part
    entries: list[tuple[int, str, object]] = []
    if folder.is_dir():
        for cls_dir in sorted(folder.iterdir()):
            if cls_dir.is_dir() and not cls_dir.name.startswith("."):
                cls = _class_index(cls_dir.name, str(cls_dir))
                entries += [(cls, p.name, p) for p in cls_dir.iterdir() if _is_image(p.name)]

    def read(ref: object) -> tuple[bytes, str]:
        assert isinstance(ref, Path)
        try:
            return ref.read_bytes(), str(ref)
        except OSError as error:
            raise CorruptDataError(ref, f"cannot be read ({error})") from error

    return _tree_part(entries, read, str(folder), part)


def _tarball_source(path: Path) -> Source:
    return Source("images", path, (path,), partial(_read_tarball, path))


def _read_tarball(path: Path, part: str) -> Part:
    """Stream the tarball once, keeping the encoded images of ``part``: no extraction."""
    entries: list[tuple[int, str, object]] = []
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                parts = member.name.split("/")
                if not member.isfile() or len(parts) < 3 or parts[-3] != part:
                    continue
                if not _is_image(parts[-1]) or parts[-2].startswith("."):
                    continue
                cls = _class_index(parts[-2], f"{path}:{member.name}")
                file = tar.extractfile(member)
                assert file is not None
                entries.append((cls, parts[-1], (file.read(), f"{path}:{member.name}")))
    except (OSError, EOFError, tarfile.TarError, zlib.error) as error:
        raise CorruptDataError(path, f"not a readable tarball ({error})") from error
    return _tree_part(entries, lambda ref: ref, str(path), part)  # type: ignore[arg-type,return-value]


# The tree's copies of the pickles' images --------------------------------------------------


def _matched_source(pickles: Source, tree: Source) -> Source:
    read = partial(_read_matched, pickles, tree)
    return Source("images-matched", tree.path, pickles.watch + tree.watch, read)


def _read_matched(pickles: Source, tree: Source, part: str) -> Part:
    exact, copies = pickles.read(part), tree.read(part)
    where = f"{tree.path} ({part})"
    copy_rows = torch.empty_like(exact.labels)
    for cls in range(len(CLASSES)):
        wanted = (exact.labels == cls).nonzero().flatten()
        present = (copies.labels == cls).nonzero().flatten()
        if len(present) < len(wanted):
            raise CorruptDataError(
                where,
                f"holds {len(present)} images of class {CLASSES[cls]!r}, fewer than the "
                f"{len(wanted)} of the pickles in {pickles.path}: it is not a copy of them",
            )
        copy_rows[wanted] = present[: len(wanted)]

    def decode_rows(rows: Tensor) -> Tensor:
        images = copies.decode(copy_rows[rows])
        originals = exact.decode(rows)
        mse = (images.double() - originals.double()).square().flatten(1).mean(1)
        psnr = 10 * torch.log10(255**2 / mse.clamp_min(1e-12))
        worst = int(psnr.argmin()) if len(rows) else 0
        if len(rows) and psnr[worst] < MATCH_MIN_PSNR:
            raise CorruptDataError(
                where,
                f"its image {int(copy_rows[rows[worst]])} of the {part} rows is not the "
                f"pickles' image {int(rows[worst])} ({float(psnr[worst]):.1f} dB PSNR, under "
                f"{MATCH_MIN_PSNR:.0f}): the tree's file order within a class must be the "
                "official order, as torchvision's pickles and CIFAR-10's image trees keep it",
            )
        return images

    notes = [JPEG_NOTE] if decoded_from_jpeg(copies.note) else []
    notes.append(MATCHED_NOTE.format(pickles.path))
    return Part(exact.labels, decode_rows, note="; ".join(notes))
