"""Real data for every chapter: MNIST, CIFAR-10 and CelebA, online and offline.

For example::

    from lrlc import data

    train = data.load("cifar10", "train")        # an ImageDataset: uint8 tensors on the CPU
    for x, y in train.loader(128, shuffle=True):  # the split lives on the GPU; x normalised
        ...

Where the data comes from:

- The data root is the ``root=`` argument, else ``$LRLC_DATA``, else ``./data``. Layouts are
  torchvision's, so existing downloads work (see ``data/README.md``).
- Missing MNIST and CIFAR-10 are downloaded with torchvision unless ``download=False`` or
  ``LRLC_OFFLINE=1``. CelebA is never downloaded: the error says where to get it.
- ``LRLC_QUICK=1`` (or ``quick=True``) serves small, fixed, class-balanced subsets for CI:
  the first images of every class in file order, :data:`QUICK_SIZES` per split.
- Decoded splits are cached in ``$LRLC_CACHE`` (default ``$XDG_CACHE_HOME/lrlc``, else
  ``~/.cache/lrlc``): the second load of a split reads one file.

Preprocessing follows the official ``data_provider.py``: the validation split is 8% (MNIST)
or 10% (CIFAR-10) of the training set (here the first images of the training file, there
the first of TensorFlow Datasets' shuffled copy), CelebA uses its partition file; CelebA is
cropped to the official box and resized to 32x32 once, at load. Images stay uint8; the
:class:`DeviceLoader` normalises batches on the device (MNIST to [-1, 1], CIFAR-10 and CelebA
to [0, 1]; no mean/std) and augments only when asked (the paper uses no augmentation).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor

from lrlc.datasets import cache as _cache
from lrlc.datasets import celeba, cifar10, mnist
from lrlc.datasets.download import DOWNLOADABLE
from lrlc.datasets.download import download as _download
from lrlc.datasets.errors import CorruptDataError, DatasetNotFoundError
from lrlc.datasets.source import Source
from lrlc.loader import Augment, DeviceLoader, Normalization

__all__ = [
    "DATASETS",
    "SPLITS",
    "QUICK_SIZES",
    "NORMALIZATION",
    "load",
    "available",
    "ImageDataset",
    "DeviceLoader",
    "Augment",
    "Normalization",
    "DatasetNotFoundError",
    "CorruptDataError",
    "data_root",
    "quick_mode",
    "downloads_allowed",
    "cache_dir",
    "balanced_first",
    "OFFICIAL_SIZES",
]

DATASETS = ("mnist", "cifar10", "celeba")
"""The datasets :func:`load` reads."""
SPLITS = ("train", "valid", "test")
"""The splits every dataset has (MNIST and CIFAR-10 hold ``valid`` out of their official
training split; CelebA has its own)."""
QUICK_SIZES = {"train": 2000, "valid": 500, "test": 500}
"""Images per split in quick mode (``LRLC_QUICK=1``, see :func:`quick_mode`)."""
COMPLETE_NOTE = "The complete official split."  # the note of a split nothing is known against
BALANCED_NOTE = "A class-balanced subset"  # how the note of a ``subset(size)`` starts
cache_dir = _cache.cache_dir


@dataclass(frozen=True)
class _Spec:
    title: str
    reader: ModuleType
    normalization: Normalization
    valid_percent: int | None  # validation = first % of the training file; None: partition
    sizes: dict[str, int]  # images per split of the complete, official dataset
    download_size: str = ""


_SPECS = {
    "mnist": _Spec(
        "MNIST",
        mnist,
        Normalization(2 / 255, -1.0),
        8,
        {"train": 55_200, "valid": 4_800, "test": 10_000},
        "about 11 MB",
    ),
    "cifar10": _Spec(
        "CIFAR-10",
        cifar10,
        Normalization(1 / 255, 0.0),
        10,
        {"train": 45_000, "valid": 5_000, "test": 10_000},
        "about 170 MB",
    ),
    "celeba": _Spec(
        "CelebA",
        celeba,
        Normalization(1 / 255, 0.0),
        None,
        {"train": 162_770, "valid": 19_867, "test": 19_962},
    ),
}
NORMALIZATION = {name: spec.normalization for name, spec in _SPECS.items()}
"""Each dataset's :class:`Normalization`, one scale and shift for every channel that map
uint8 pixels to [-1, 1] (MNIST) or [0, 1] (CIFAR-10, CelebA); no mean/std normalisation."""
OFFICIAL_SIZES = {name: dict(spec.sizes) for name, spec in _SPECS.items()}
"""Images per split of each complete dataset, e.g. ``OFFICIAL_SIZES["mnist"]["valid"]``."""


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root``, else ``$LRLC_DATA``, else ``./data`` (``../data`` when run
    from the book's ``book/`` folder, where the repository's ``data/README.md`` is one up)."""
    if root is None:
        root = os.environ.get("LRLC_DATA")
    if root is None or root == "":
        here, book = Path("data"), Path("..") / "data"
        root = book if not here.exists() and (book / "README.md").is_file() else here
    return Path(root).expanduser()


def quick_mode(quick: bool | None = None) -> bool:
    """``quick`` if given, else whether ``LRLC_QUICK`` is set to 1 (or true, yes, on)."""
    return _flag("LRLC_QUICK") if quick is None else bool(quick)


def downloads_allowed(download: bool | None = None) -> bool:
    """``download`` if given, else True unless ``LRLC_OFFLINE`` is set to 1."""
    return not _flag("LRLC_OFFLINE") if download is None else bool(download)


def balanced_first(labels: Tensor, size: int, num_classes: int) -> Tensor:
    """Row indices, in order, of the first ``size // num_classes`` rows of every class.

    labels: (N,) int64 -> (n,) int64, n <= size (fewer where a class has fewer rows).
    """
    per_class = size // num_classes
    onehot = F.one_hot(labels, num_classes)
    rank = (onehot.cumsum(0) * onehot).sum(1) - 1  # position of each row within its class
    return torch.nonzero(rank < per_class).squeeze(1)


@dataclass(frozen=True, eq=False, repr=False)
class ImageDataset:
    """One split of a dataset, whole, as tensors on the CPU.

    images: (N, C, H, W) uint8: MNIST 1x28x28, CIFAR-10 and CelebA 3x32x32.

    labels: (N,) int64, indices into ``classes``; for CelebA the paper's task, the Male
    attribute (classes ("Female", "Male")).

    attributes: (N, 40) int64 in {0, 1} for CelebA (names in ``attribute_names``), else None.

    source: the layout read ("idx", "pickle", "images", "images-matched", "folder" or
        "zip"); path: from where.

    is_subset: False only for the complete official split (not quick mode, not a partial
    copy, not a home-made partition).

    note: what anyone reading results on this split must be told.
    """

    name: str
    split: str
    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]
    source: str
    path: str
    is_subset: bool
    note: str
    attributes: Tensor | None = None
    attribute_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def normalization(self) -> Normalization:
        """How the loader turns pixels into floats; ``.denormalize(x)`` undoes it for display."""
        return NORMALIZATION[self.name]

    def class_counts(self) -> Tensor:
        """(len(classes),) int64: images per class."""
        return torch.bincount(self.labels, minlength=len(self.classes))

    def attribute_baselines(self) -> Tensor:
        """(len(attribute_names),) float64: the majority-class accuracy of every attribute,
        ``max(q, 1 - q)`` for an attribute present in a fraction ``q`` of the images: what
        always answering the more common value scores on this split.

        Raises ValueError for a dataset without attributes (all but CelebA).
        """
        if self.attributes is None:
            raise ValueError(f"{self.name} has no attributes")
        present = self.attributes.double().mean(dim=0)  # (n_attributes,): q of each
        return torch.maximum(present, 1 - present)

    def subset(self, size: int) -> ImageDataset:
        """The first ``size // len(classes)`` images of every class (:func:`balanced_first`), as a
        new :class:`ImageDataset` marked as a subset, with the note saying so. A ``size`` of at
        least ``len(self)`` returns ``self``."""
        if size < len(self.classes):
            raise ValueError(f"subset size must be at least {len(self.classes)}, got {size}")
        if size >= len(self):
            return self
        rows = balanced_first(self.labels, size, len(self.classes))
        note = (
            f"{BALANCED_NOTE}: the first {size // len(self.classes):,} images of each "
            f"class, {len(rows):,} of the {len(self):,} of this split."
        )
        if self.note != COMPLETE_NOTE:  # keep what the split was already known to be
            note += " " + self.note
        attributes = None if self.attributes is None else self.attributes[rows]
        return dataclasses.replace(
            self,
            images=self.images[rows],
            labels=self.labels[rows],
            attributes=attributes,
            is_subset=True,
            note=note,
        )

    def describe(self) -> str:
        """One line for a caption: dataset, split, size, and whether it is the full data."""
        shape = "x".join(str(s) for s in self.images.shape[1:])
        whole = "a subset" if self.is_subset else "complete"
        return f"{_SPECS[self.name].title} {self.split}: {len(self):,} images {shape}, {whole}"

    def loader(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        augment: bool | Augment = False,
        seed: int | None = None,
        targets: str = "labels",
        dtype: torch.dtype = torch.float32,
    ) -> DeviceLoader:
        """A :class:`DeviceLoader` over this split: yields (x, y) batches made on ``device``.

        targets: "labels" (y: (B,) int64) or, for CelebA, "attributes" (y: (B, 40) float).
        device: default :func:`~lrlc.train.auto_device` (CUDA, else MPS, else CPU). See
        :class:`DeviceLoader` for the other arguments.
        """
        if targets not in ("labels", "attributes"):
            raise ValueError(f"targets must be 'labels' or 'attributes', got {targets!r}")
        if targets == "attributes" and self.attributes is None:
            raise ValueError(f"{self.name} has no attributes; use targets='labels'")
        y = self.labels if targets == "labels" else self.attributes
        return DeviceLoader(
            self.images,
            y,  # type: ignore[arg-type]
            batch_size,
            self.normalization,
            device=device,
            shuffle=shuffle,
            drop_last=drop_last,
            augment=augment,
            seed=seed,
            dtype=dtype,
            float_targets=targets == "attributes",
            dataset=self,
        )

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name!r}, split={self.split!r}, images="
            f"{tuple(self.images.shape)} uint8, source={self.source!r}, path={self.path!r}, "
            f"is_subset={self.is_subset}, note={self.note!r})"
        )


def _check_names(name: str, split: str, source: str | None) -> _Spec:
    if name == "trans_celeba48":
        raise ValueError(
            "trans_celeba48 (the misaligned faces) is made from CelebA on the fly: load "
            "'celeba' and wrap its loader in lrlc.misaligned.MisalignedLoader"
        )
    if name not in _SPECS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    spec = _SPECS[name]
    if source is not None and source not in spec.reader.KINDS:
        kinds = ", ".join(spec.reader.KINDS)
        raise ValueError(f"unknown source {source!r} for {name}; valid: {kinds} (or None)")
    return spec


def _missing(name: str, root: Path, root_given: bool, source: str | None, fix: str) -> str:
    spec = _SPECS[name]
    if root_given:
        origin = "the root= argument"
    elif os.environ.get("LRLC_DATA"):
        origin = "$LRLC_DATA"
    else:
        origin = "the default ./data, as neither root= nor $LRLC_DATA was given"
    kind = f" as source={source!r}" if source else ""
    return (
        f"{spec.title} was not found{kind} under the data root {root.resolve()} ({origin}).\n"
        f"Looked for:\n{spec.reader.layout(root)}\n"
        f"Fix: {fix}"
    )


def _find_or_download(
    name: str, root: Path, root_given: bool, source: str | None, download: bool | None
) -> Source:
    spec = _SPECS[name]
    found = spec.reader.find(root, source)
    if found is not None:
        return found
    elsewhere = "or set LRLC_DATA (or root=, or --root of a command) to a folder that holds it."
    if name not in DOWNLOADABLE:
        raise DatasetNotFoundError(
            _missing(name, root, root_given, source, celeba.how_to_get(root))
        )
    if source not in (None, spec.reader.KINDS[0]):
        fix = f"put it there, use source=None to read what is present, {elsewhere}"
        raise DatasetNotFoundError(_missing(name, root, root_given, source, fix))
    if not downloads_allowed(download):
        if download is False:
            why, how = "download=False", f"lrlc.data.load({name!r}, download=True)"
        else:
            why, how = "LRLC_OFFLINE=1", "unsetting LRLC_OFFLINE (or download=True)"
        fix = (
            f"downloads are off ({why}). With internet access, {how} downloads it there "
            f"({spec.download_size}), {elsewhere}"
        )
        raise DatasetNotFoundError(_missing(name, root, root_given, source, fix))
    try:
        _download(name, root)
    except Exception as error:  # no network, a refused mirror, a full or read-only disk
        fix = (
            f"the download failed ({type(error).__name__}: {' '.join(str(error).split())}); "
            "nothing was left behind. "
            f"Retry with internet access, copy the files to the paths above, {elsewhere}"
        )
        raise DatasetNotFoundError(_missing(name, root, root_given, source, fix)) from error
    found = spec.reader.find(root, source)
    if found is None:
        fix = f"the download finished but left no readable {spec.title}; {elsewhere}"
        raise DatasetNotFoundError(_missing(name, root, root_given, source, fix))
    return found


def _build(name: str, split: str, quick: bool, source: Source) -> dict:
    """Read, split, subset and decode: the payload of an ``ImageDataset`` (and the cache)."""
    spec = _SPECS[name]
    if spec.valid_percent is None:
        part = source.read(split)
        rows = torch.arange(len(part.labels))
    else:
        part = source.read("test" if split == "test" else "train")
        rows = torch.arange(len(part.labels))
        if split != "test":
            n_valid = (len(rows) * spec.valid_percent + 50) // 100
            rows = rows[:n_valid] if split == "valid" else rows[n_valid:]
    available, official = len(rows), spec.sizes[split]
    notes = []
    if quick:
        per_class = QUICK_SIZES[split] // len(spec.reader.CLASSES)
        rows = rows[balanced_first(part.labels[rows], QUICK_SIZES[split], len(spec.reader.CLASSES))]
        notes.append(
            f"Quick mode (LRLC_QUICK=1 or quick=True): the first {per_class:,} images of each "
            f"class of the {available:,} available, for fast checks, not for results."
        )
    if available != official:
        notes.append(f"A subset: {available:,} of the {official:,} images of this split.")
    if part.note:
        notes.append(part.note[0].upper() + part.note[1:] + ".")
    is_subset = quick or available != official or part.subset
    images = part.decode(rows)
    return {
        "images": images.contiguous(),
        "labels": part.labels[rows].contiguous(),
        "attributes": None if part.attributes is None else part.attributes[rows].contiguous(),
        "attribute_names": part.attribute_names,
        "classes": tuple(spec.reader.CLASSES),
        "source": source.kind,
        "path": str(source.path),
        "is_subset": bool(is_subset),
        "note": " ".join(notes) if notes else COMPLETE_NOTE,
    }


def available(
    name: str, root: str | os.PathLike | None = None, *, source: str | None = None
) -> bool:
    """Whether ``name`` ("mnist", "cifar10" or "celeba") is in place under the data root
    (:func:`data_root` of ``root``, as :func:`load` finds it), so that :func:`load` needs
    no download; ``source`` as in :func:`load`. Reads no images."""
    name = name.lower() if isinstance(name, str) else name
    spec = _check_names(name, "train", source)
    return spec.reader.find(data_root(root), source) is not None


def load(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool | None = None,
    *,
    quick: bool | None = None,
    source: str | None = None,
    cache: bool = True,
) -> ImageDataset:
    """Load one split of "mnist", "cifar10" or "celeba" as an :class:`ImageDataset`.

    Args:
        name: "mnist", "cifar10" or "celeba".
        split: "train", "valid" (the first 8% / 10% of the training file for MNIST /
            CIFAR-10; CelebA's own partition) or "test".
        root: the data root; default ``$LRLC_DATA``, else ``./data`` (see :func:`data_root`).
        download: download MNIST or CIFAR-10 when missing; default True unless
            ``LRLC_OFFLINE=1``. CelebA is never downloaded.
        quick: small class-balanced subsets (:data:`QUICK_SIZES`); default ``$LRLC_QUICK``.
        source: which layout to read when several are present: CIFAR-10 "pickle",
            "images" (an image tree or its tarball) or "images-matched" (the tree's copies of
            the pickles' images, in the pickles' order: what JPEG changes, nothing else),
            CelebA "folder" or "zip"; default: the best present (CIFAR-10: complete
            pickles, else images, else partial pickles).
        cache: read and write the decoded split in ``cache_dir()``.

    Raises:
        ValueError: an unknown dataset, split or source (the message lists the valid ones).
        DatasetNotFoundError: the data is missing (and was not downloaded); the message
            names the root, the layout expected and the fix.
        CorruptDataError: a file is broken; the message names it. Nothing is cached.
    """
    name = name.lower() if isinstance(name, str) else name
    _check_names(name, split, source)
    root_path = data_root(root)
    quick = quick_mode(quick)
    found = _find_or_download(name, root_path, root is not None, source, download)
    prefix = f"{name}-{split}" + ("-quick" if quick else "")
    settings = {"valid_percent": _SPECS[name].valid_percent, "quick": quick and QUICK_SIZES}
    entry = _cache.entry_path(prefix, found, settings) if cache else None
    payload = _cache.read(entry) if entry is not None else None
    if payload is None:
        payload = _build(name, split, quick, found)
        if entry is not None:
            _cache.write(entry, payload)
    elif payload["path"] != str(found.path):
        # the same files reached through another spelling of the root: name them as asked
        old, new = payload["path"], str(found.path)
        common = len(os.path.commonprefix([old[::-1], new[::-1]]))
        note = payload["note"].replace(old[: len(old) - common], new[: len(new) - common])
        payload = {**payload, "path": new, "note": note}
    return ImageDataset(name=name, split=split, **payload)
