"""Batches from a whole split kept on one device as uint8: the fast way to train.

The split is copied to the device once. Each epoch, a ``torch.randperm`` drawn on the device
orders it; each batch is gathered with one indexing operation, augmented (optionally) and
normalised on the device as a whole tensor. No per-sample Python, no worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Augment",
    "DeviceLoader",
    "Normalization",
    "augment_batch",
    "auto_device",
    "default_device",
]


def auto_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: the one asked for, else CUDA, then Apple's MPS, then the CPU.

    Asking for a device that is not there raises a ``RuntimeError`` that says what to do.
    """
    if device is not None:
        try:
            device = torch.device(device)
        except RuntimeError:
            raise RuntimeError(
                f"unknown device {device!r}: use 'cuda' (an NVIDIA GPU), 'mps' (an Apple GPU) "
                "or 'cpu', or None to pick the best available device"
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "a CUDA GPU was requested but none is available: in Colab choose Runtime > "
                "Change runtime type > GPU; elsewhere pass device='cpu' (or None to pick "
                "the best available device)"
            )
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(
                "the MPS device (an Apple GPU) was requested but is not available: pass "
                "device='cpu' (or None to pick the best available device)"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU (``auto_device()``)."""
    return auto_device()


@dataclass(frozen=True)
class Normalization:
    """uint8 pixels p -> floats x = p * scale + shift; :meth:`denormalize` goes back to [0, 1].

    One scale and one shift for every channel. MNIST: scale 2/255, shift -1 (x in
    [-1, 1]); CIFAR-10 and CelebA: scale 1/255, shift 0 (x in [0, 1]), as the official
    ``data_provider.py``; no mean/std normalisation.
    """

    scale: float
    shift: float

    def __call__(self, images: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """images: (..., H, W) uint8 -> the same shape, ``dtype``, normalised."""
        return images.to(dtype, copy=True).mul_(self.scale).add_(self.shift)

    def denormalize(self, x: Tensor) -> Tensor:
        """Normalised x -> float in [0, 1], for display (e.g. ``plt.imshow``)."""
        return ((x.float() - self.shift) / (self.scale * 255)).clamp_(0, 1)

    @property
    def range(self) -> tuple[float, float]:
        """The (min, max) a normalised pixel can take."""
        return (self.shift, 255 * self.scale + self.shift)


@dataclass(frozen=True)
class Augment:
    """Random crop after zero padding (``padding`` pixels a side) + random horizontal flip.

    The standard CIFAR augmentation; the paper trains without augmentation. Flipping
    changes what a digit means: use ``Augment(hflip=False)`` for MNIST.
    """

    padding: int = 4
    hflip: bool = True


def augment_batch(images: Tensor, augment: Augment, generator: torch.Generator) -> Tensor:
    """images: (B, C, H, W), any dtype, on the generator's device -> the same shape.

    Every image gets its own crop offset and flip, all drawn and applied at once: the crop
    is a gather of rows ``dy + arange(H)`` and columns ``dx + arange(W)`` (reversed when
    flipped) from the zero-padded batch.
    """
    b, c, h, w = images.shape
    p, device = augment.padding, images.device
    padded = F.pad(images, (p, p, p, p)) if p > 0 else images
    dy = torch.randint(0, 2 * p + 1, (b, 1), device=device, generator=generator)
    dx = torch.randint(0, 2 * p + 1, (b, 1), device=device, generator=generator)
    rows = dy + torch.arange(h, device=device)  # (B, H)
    cols = dx + torch.arange(w, device=device)  # (B, W)
    if augment.hflip:
        flip = torch.rand(b, 1, device=device, generator=generator) < 0.5
        cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(b, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


class DeviceLoader:
    """Iterate over (x, y) batches of a split that lives on ``device``.

    Args:
        images: (N, C, H, W) uint8, copied to ``device`` once.
        targets: (N,) int64 labels, or (N, A) attributes; copied to ``device`` once.
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        normalization: uint8 -> float conversion applied to every batch on the device.
        device: where the data lives and batches are made; default
            :func:`~lrlc.train.auto_device` (CUDA, else MPS, else CPU).
        shuffle: a fresh ``torch.randperm`` order every epoch (iteration).
        drop_last: drop the last, incomplete batch.
        augment: False or None (none), True (``Augment()``: pad-4 random crop + flip) or an
            :class:`Augment`.
        seed: seeds this loader's own generator (shuffling and augmentation); None draws a
            seed from torch's global generator, so ``torch.manual_seed`` makes runs repeat,
            and lets ``fit(..., seed=...)`` re-seed it (``explicit_seed`` is then False).
        dtype: dtype of x (and of float targets).
        float_targets: yield y as ``dtype`` (multi-label attributes for BCE), not int64.
        dataset: what the batches come from (an :class:`.ImageDataset`), kept as ``.dataset`` so
            its ``is_subset`` and ``note`` travel with the loader; optional.

    Yields:
        x: (B, C, H, W) ``dtype``, normalised; y: (B,) or (B, A) in the targets' dtype
        (int64 for labels and for CelebA's attributes), or ``dtype`` with
        ``float_targets=True``.
    """

    def __init__(
        self,
        images: Tensor,
        targets: Tensor,
        batch_size: int,
        normalization: Normalization,
        *,
        device: torch.device | str | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        augment: bool | Augment | None = False,
        seed: int | None = None,
        dtype: torch.dtype = torch.float32,
        float_targets: bool = False,
        dataset: object | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be (N, C, H, W) uint8, got {tuple(images.shape)} {images.dtype}"
            )
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.device = auto_device(device)
        self.images = images.to(self.device)
        self.targets = targets.to(self.device)
        if float_targets:
            self.targets = self.targets.to(dtype)
        self.batch_size = batch_size
        self.normalization = normalization
        self.shuffle = shuffle
        self.drop_last = drop_last
        if not (augment is None or isinstance(augment, (bool, Augment))):
            raise TypeError(
                f"augment must be True, False/None or an Augment, got {augment!r}: crops alone "
                "are Augment(hflip=False), flips alone Augment(padding=0) "
                "(from lrlc.loader import Augment)"
            )
        self.augment = Augment() if augment is True else (augment or None)
        self.dtype = dtype
        self.dataset = dataset
        self.explicit_seed = seed is not None
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        self.generator = torch.Generator(device=self.device)
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> None:
        """Seed the loader's generator again: its next epochs' order and augmentation."""
        self.seed = seed
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        """The number of batches per epoch."""
        n, b = len(self.images), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    @property
    def num_samples(self) -> int:
        """The number of samples per epoch (fewer than the split with ``drop_last``)."""
        return len(self) * self.batch_size if self.drop_last else len(self.images)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n, b = len(self.images), self.batch_size
        order = None
        if self.shuffle:
            order = torch.randperm(n, device=self.device, generator=self.generator)
        for i in range(len(self)):
            index = slice(i * b, min(n, (i + 1) * b))
            if order is not None:
                index = order[index]
            x, y = self.images[index], self.targets[index]
            if self.augment is not None:
                x = augment_batch(x, self.augment, self.generator)
            yield self.normalization(x, self.dtype), y

    def __repr__(self) -> str:
        name, split = (getattr(self.dataset, key, None) for key in ("name", "split"))
        served = f"{name} {split}, " if name else ""
        return (
            f"DeviceLoader({served}{len(self.images)} samples, batch_size={self.batch_size}, "
            f"{len(self)} batches, device={self.device}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, augment={self.augment}, seed={self.seed})"
        )
