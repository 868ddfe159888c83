"""Misaligned faces: the official ``trans_celeba48`` variant of CelebA.

Each 32x32 face is placed at a random offset inside a 48x48 canvas of uniform noise, so
the face's parts no longer sit at fixed positions: the case where a fixed spatial prior
(spatial combining weights) should stop helping and input-dependent weights should not.
As the official ``_random_translate``: the offset is uniform over ``1 .. canvas - size``
pixels along each axis, and the noise is U(0, 1) in [0, 1] pixel units. The official code
draws both anew every time an image is served, in every split; the book's experiments do
so for training only and give validation and test fixed draws (``MisalignedLoader`` with
``fixed=True``), so every evaluation scores the same images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

__all__ = ["place_in_noise", "MisalignedLoader", "base_dataset"]


def base_dataset(name: str) -> str:
    """The dataset whose images a grid's dataset serves: "trans_celeba48" -> "celeba";
    any other name is its own."""
    return "celeba" if name == "trans_celeba48" else name


def place_in_noise(x: Tensor, canvas: int = 48, generator: torch.Generator | None = None) -> Tensor:
    """Put each image of x at a random offset in a noise canvas, all on x's device.

    x: (batch, C, h, w), pixels in [0, 1] -> (batch, C, canvas, canvas).
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(
            f"place_in_noise takes a (batch, C, h, w) float batch in [0, 1], got "
            f"{tuple(x.shape)} {x.dtype}: uint8 pixels convert with x.float() / 255"
        )
    b, c, h, w = x.shape
    if canvas <= max(h, w):
        raise ValueError(f"canvas ({canvas}) must be larger than the images ({h}x{w})")
    g = {"generator": generator, "device": x.device}
    out = torch.rand(b, c, canvas, canvas, dtype=x.dtype, **g)
    top = torch.randint(1, canvas - h + 1, (b,), **g)
    left = torch.randint(1, canvas - w + 1, (b,), **g)
    rows = torch.arange(canvas, device=x.device)[None, :] - top[:, None]  # (b, canvas)
    cols = torch.arange(canvas, device=x.device)[None, :] - left[:, None]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None]
    picked = x[batch, :, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]
    # picked: (b, canvas, canvas, C) -> channels first
    return torch.where(inside[:, None], picked.permute(0, 3, 1, 2), out)


class MisalignedLoader:
    """Wrap a loader of (x, y) face batches (pixels in [0, 1]) to serve misaligned faces.

    x: (batch, 3, 32, 32) -> (batch, 3, canvas, canvas); y unchanged.

    Args:
        loader: yields ``(x, y)`` batches, e.g. a :class:`~lrlc.data.DeviceLoader`.
        canvas: the side of the noise canvas, larger than the images.
        seed: seeds the generator of the offsets and noise (one generator on the device
            of the batches), so the first pass is the same for the same seed and batches.
            Without ``fixed`` later passes continue from where the last one stopped: fresh
            offsets and noise every epoch, as a training loader needs.
        fixed: start every pass again from ``seed`` (after a complete pass), so that an
            evaluation loader serves the same images every pass, provided ``loader`` yields
            the same batches in the same order.
    """

    def __init__(
        self,
        loader: Iterable[tuple[Tensor, Tensor]],
        canvas: int = 48,
        seed: int = 0,
        fixed: bool = False,
    ) -> None:
        self.loader = loader
        self.canvas = canvas
        self.seed = seed
        self.fixed = fixed
        self.dataset = getattr(loader, "dataset", None)
        self._generator: torch.Generator | None = None

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for x, y in self.loader:
            if self._generator is None or self._generator.device != x.device:
                self._generator = torch.Generator(device=x.device)
                self._generator.manual_seed(self.seed)
            yield place_in_noise(x, self.canvas, self._generator), y
        if self.fixed:  # the same offsets and noise on the next pass
            self._generator = None
