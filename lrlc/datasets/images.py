"""Decode image files (JPEG, PNG) to uint8 tensors with Pillow."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lrlc.datasets.errors import CorruptDataError

__all__ = ["decode"]


def decode(data: bytes, name: str, mode: str = "RGB") -> Tensor:
    """Decode one encoded image: -> (C, H, W) uint8, C = 3 for mode "RGB", 1 for "L".

    ``name`` (a path, or ``archive:member``) names the file in the ``CorruptDataError``
    raised when the bytes are not a readable image.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            array = np.array(image.convert(mode))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise CorruptDataError(name, f"not a readable image ({error})") from error
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)
