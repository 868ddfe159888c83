"""Small helpers that check and normalise the arguments of 2-D layers: sizes, padding,
strides, channels, switches and the LRLC rank, and the inputs a layer is given."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
import torch

Size2 = int | tuple[int, int] | Sequence[int]


def _index(value: object) -> int | None:
    """``value`` as a Python int if ``operator.index`` takes it (Python, NumPy and 0-d tensor
    integers) and it is not a bool; else None."""
    if isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def as_int(value: object, name: str, minimum: int | None = None) -> int:
    """``value`` as a Python int, at least ``minimum``: anything ``operator.index`` takes
    (as ``nn.Conv2d``), bools excepted. ``name`` is used in the error message."""
    number = _index(value)
    if number is None or (minimum is not None and number < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be an int{bound}, got {value!r} ({type(value).__name__})")
    return number


def as_flag(value: object, name: str) -> bool:
    """``value`` if it is a bool (Python's or NumPy's); ``name`` is used in the error message.

    A switch given as a string or a number is refused rather than read by its truth value:
    ``input_dependent="no"`` would otherwise switch the mode on.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def pair(value: Size2, name: str) -> tuple[int, int]:
    """Return ``value`` as a pair of Python ints; ``name`` is used in the error message.

    Takes an int or a pair of ints, each anything ``operator.index`` takes (NumPy integers,
    a NumPy array of two), bools excepted.
    """
    number = _index(value)
    if number is not None:
        return (number, number)
    message = f"{name} must be an int or a pair of ints, got {value!r} ({type(value).__name__})"
    try:
        first, second = (_index(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if first is None or second is None:
        raise ValueError(message)
    return (first, second)


def channel_counts(in_channels: object, out_channels: object) -> tuple[int, int]:
    """``(in_channels, out_channels)`` as Python ints, both at least 1."""
    in_channels = as_int(in_channels, "in_channels")
    out_channels = as_int(out_channels, "out_channels")
    if in_channels < 1 or out_channels < 1:
        raise ValueError(
            f"in_channels and out_channels must be >= 1, got {in_channels} and {out_channels}"
        )
    return in_channels, out_channels


def lrlc_options(
    rank: object,
    output_size: tuple[int, int],
    input_dependent: object = False,
    share_combining_weights: object = None,
) -> tuple[int, bool, bool]:
    """An LRLC layer's ``(rank, input_dependent, share_combining_weights)``, checked, with
    ``share_combining_weights=None`` resolved to the official default of the mode (shared
    row and column logits when spatial, per position when input-dependent).

    Spatial combining weights take ``1 <= rank <= H_out * W_out``: at ``H_out * W_out`` every
    position can already have a filter bank of its own.
    """
    rank = as_int(rank, "rank", minimum=1)
    input_dependent = as_flag(input_dependent, "input_dependent")
    if share_combining_weights is not None:
        share_combining_weights = as_flag(share_combining_weights, "share_combining_weights")
    h_out, w_out = output_size
    if rank > h_out * w_out and not input_dependent:
        raise ValueError(
            f"rank={rank} is larger than the number of output positions "
            f"{h_out} x {w_out} = {h_out * w_out}; a locally connected layer (one filter "
            f"bank per position) is reached at rank {h_out * w_out}: use a smaller rank "
            "(input-dependent combining weights, which differ per example, take any rank)"
        )
    if input_dependent and share_combining_weights:
        raise ValueError(
            "share_combining_weights=True needs spatial combining weights: with "
            "input_dependent=True the weights are predicted per position from the input; "
            "leave share_combining_weights at None"
        )
    shared = not input_dependent if share_combining_weights is None else share_combining_weights
    return rank, input_dependent, shared


def channels_last_hint(x: torch.Tensor, in_channels: int) -> str:
    """A hint for an input whose channels are last, (batch, H, W, C), else ""."""
    if x.dim() == 4 and x.shape[1] != in_channels and x.shape[-1] == in_channels:
        return (
            ": it looks like (batch, height, width, channels): use x.permute(0, 3, 1, 2) "
            "for (batch, channels, height, width)"
        )
    return ""


def resolve_padding(padding: Size2 | str, kernel_size: Size2, stride: Size2 = 1) -> tuple[int, int]:
    """Padding as a pair of ints ``(pad_h, pad_w)``, zeros added on each side.

    Takes ints, as ``nn.Conv2d``, and its two strings: ``"valid"`` (no padding) and
    ``"same"`` (the output as large as the input: stride 1 and odd kernels only, where
    the padding is ``(k - 1) // 2`` on each side).
    """
    if not isinstance(padding, str):
        return pair(padding, "padding")
    if padding == "valid":
        return (0, 0)
    if padding != "same":
        raise ValueError(
            f"padding must be 'valid', 'same', an int or a pair of ints, got {padding!r}"
        )
    (kh, kw), (sh, sw) = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    if (sh, sw) != (1, 1):
        raise ValueError(
            f"padding='same' needs stride 1 (as in nn.Conv2d), got stride {(sh, sw)}: "
            "give the padding as ints instead"
        )
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(
            f"padding='same' needs an odd kernel_size, got {(kh, kw)}: an even kernel would "
            "need more padding on one side than the other; use an odd kernel, or pad the "
            "input with F.pad and build the layer with padding=0"
        )
    return ((kh - 1) // 2, (kw - 1) // 2)


def conv_output_size(
    input_size: Size2, kernel_size: Size2, stride: Size2 = 1, padding: Size2 | str = 0
) -> tuple[int, int]:
    """Spatial output size ``(H_out, W_out)`` of a convolution-like layer.

    ``H_out = (H + 2 * pad_h - kh) // stride_h + 1``, and the same for the width;
    ``padding``: an int, a pair, or ``"valid"`` (no padding) or ``"same"`` (stride 1 and
    odd kernels only: the output keeps the input's size), as the layers take it. Raises
    ``ValueError`` naming the argument when the kernel does not fit.
    """
    (h, w), (kh, kw) = pair(input_size, "input_size"), pair(kernel_size, "kernel_size")
    sh, sw = pair(stride, "stride")
    ph, pw = resolve_padding(padding, kernel_size, stride)
    if h < 1 or w < 1:
        raise ValueError(f"input_size must be positive, got {(h, w)}")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size must be positive, got {(kh, kw)}")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {(ph, pw)}")
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(
            f"kernel_size {(kh, kw)} is larger than the padded input "
            f"{(h + 2 * ph, w + 2 * pw)} (input_size {(h, w)} with padding {(ph, pw)}): "
            "use a smaller kernel or more padding"
        )
    return ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` ("cpu", "cuda", ...): a layer's input may
    then have another dtype than its weights. False for devices autocast does not know
    ("meta"); torch before 2.4 asks without a device type."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device_type argument
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()
    except RuntimeError:  # "unknown device type for autocast"
        return False


def check_input(
    x: torch.Tensor,
    in_channels: int,
    input_size: tuple[int, int],
    layer_name: str,
    weight: torch.Tensor | None = None,
) -> None:
    """Raise a ``TypeError`` (not a tensor) or a ``ValueError`` (wrong number of dimensions,
    channels, size, device or dtype) that names the fix when ``x`` does not fit a layer.

    x: (batch, in_channels, height, width), with ``(height, width) == input_size``, floating
    point and, when one of the layer's parameters is given as ``weight``, on its device and
    of its dtype (autocast lets the dtypes differ).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{layer_name} expects a torch.Tensor, got {type(x).__module__}.{type(x).__name__}: "
            "convert it, e.g. torch.from_numpy(x) or torch.as_tensor(x)"
        )
    if x.dim() != 4:
        raise ValueError(
            f"{layer_name} expects a 4-D input (batch, channels, height, width), "
            f"got a {x.dim()}-D tensor of shape {tuple(x.shape)}"
            + (": add a batch dimension with x.unsqueeze(0)" if x.dim() == 3 else "")
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{layer_name} expects {in_channels} input channels, got {x.shape[1]} "
            f"(input shape {tuple(x.shape)})" + channels_last_hint(x, in_channels)
        )
    given = (x.shape[2], x.shape[3])
    if given != tuple(input_size):
        raise ValueError(
            f"{layer_name} was built for inputs of spatial size {tuple(input_size)}, "
            f"got {given}. A locally connected layer has weights for each position, "
            f"so it is tied to one input size: build a new layer with input_size={given}, "
            "or resize/crop the input to the size the layer was built for."
        )
    if not x.is_floating_point():
        raise ValueError(
            f"{layer_name} expects a floating-point input, got {x.dtype}: convert it with "
            "x.float() (images as uint8 need scaling too, e.g. x.float() / 255)"
        )
    if weight is None:
        return
    if x.device != weight.device:
        raise ValueError(
            f"{layer_name} has its weights on {weight.device} but got an input on {x.device}: "
            f"move one to the other (x.to('{weight.device}') or layer.to('{x.device}')); "
            "model.to(device) moves every layer of a model"
        )
    dtype = weight.dtype
    if x.dtype != dtype and not _autocast_on(x.device.type):
        raise ValueError(
            f"{layer_name} has {dtype} weights but got a {x.dtype} input: convert one to the "
            f"other (x.to({dtype}) or layer.to({x.dtype})), or run it under torch.autocast"
        )
