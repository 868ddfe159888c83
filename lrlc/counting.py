"""Exact parameter and FLOP counts for convolution, LC and LRLC layers.

FLOPs count one multiply-accumulate as 2 FLOPs, per example, for the convolutions and
matrix products only (biases, softmax, activations and resizing are not counted), the
convention of ``torch.utils.flop_counter``.
"""

from __future__ import annotations

from torch import nn

from lrlc.shapes import Size2, as_flag, channel_counts, conv_output_size, lrlc_options, pair

__all__ = [
    "network_flops",
    "count_parameters",
    "lrlc_params_by_role",
    "conv2d_params",
    "lc2d_params",
    "lrlc2d_params",
    "conv2d_flops",
    "lc2d_flops",
    "lrlc2d_flops",
]

_DILATIONS = (1, 2, 4, 8)  # the input-dependent network's depthwise branches


def count_parameters(module: nn.Module) -> int:
    """Number of trainable elements: ``sum(p.numel() for p in module.parameters() if
    p.requires_grad)``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def lrlc_params_by_role(layer: nn.Module) -> dict[str, int]:
    """An LRLC layer's parameters by role: ``"bases"`` (the ``K`` filter banks),
    ``"combining"`` (the row and column logits, the per-position logits, or the
    input-dependent combining network), ``"spatial bias"``, and ``"bias"`` (per channel)
    when the layer has one. They sum to ``layer``'s parameter count."""
    from lrlc.layers import LowRankLocallyConnected2d  # (layers import us)

    if not isinstance(layer, LowRankLocallyConnected2d):
        raise TypeError(
            f"lrlc_params_by_role takes a LowRankLocallyConnected2d, got {type(layer).__name__}"
        )

    def size(*params: nn.Parameter | None) -> int:
        return sum(p.numel() for p in params if p is not None)

    roles = {
        "bases": size(layer.weight),
        "combining": size(layer.combining_row, layer.combining_col, layer.combining_logits)
        + (size(*layer.combining_net.parameters()) if layer.combining_net is not None else 0),
        "spatial bias": size(layer.spatial_bias_row, layer.spatial_bias_col, layer.spatial_bias),
    }
    if layer.bias is not None:
        roles["bias"] = size(layer.bias)
    return roles


def conv2d_params(
    in_channels: int, out_channels: int, kernel_size: Size2, bias: bool = True
) -> int:
    """Parameters of ``nn.Conv2d``: ``out * in * kh * kw (+ out)``."""
    in_channels, out_channels = channel_counts(in_channels, out_channels)
    bias = as_flag(bias, "bias")
    kh, kw = pair(kernel_size, "kernel_size")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size must be positive, got {(kh, kw)}")
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)


def lc2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    stride: Size2 = 1,
    padding: Size2 | str = 0,
    bias: bool = True,
) -> int:
    """Parameters of :class:`.LocallyConnected2d`: one conv filter bank (and bias) per output
    position."""
    h_out, w_out = conv_output_size(input_size, kernel_size, stride, padding)
    return h_out * w_out * conv2d_params(in_channels, out_channels, kernel_size, bias)


def _combining_net_params(in_channels: int, rank: int, input_size: Size2) -> int:
    used = [d for d in _DILATIONS if d <= (min(pair(input_size, "input_size")) - 1) // 2]
    width = (len(_DILATIONS) + 2) * rank
    branches = (len(used) + 2) * rank
    return (
        (in_channels + 1) * rank  # 1x1 reduction
        + len(used) * (9 + 1) * rank  # depthwise 3x3 per dilation
        + (branches + 1) * (width // 2)  # squeeze
        + (width // 2 + 1) * width  # excite
        + (width + 1) * rank  # projection
    )


def lrlc2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    rank: int,
    stride: Size2 = 1,
    padding: Size2 | str = 0,
    bias: bool = True,
    input_dependent: bool = False,
    share_combining_weights: bool | None = None,
    spatial_bias: bool = True,
) -> int:
    """Parameters of :class:`.LowRankLocallyConnected2d` with the same arguments.

    ``rank`` bases, plus combining logits (``rank * (H_out + W_out)`` shared,
    ``rank * H_out * W_out`` unshared, none at rank 1 or when input-dependent, which adds
    its network instead), plus the spatial bias (``H_out + W_out`` when shared, ``H_out *
    W_out`` otherwise, none with ``spatial_bias=False``), plus ``out_channels`` when ``bias``.
    """
    h_out, w_out = conv_output_size(input_size, kernel_size, stride, padding)
    rank, input_dependent, shared = lrlc_options(
        rank, (h_out, w_out), input_dependent, share_combining_weights
    )
    in_channels, out_channels = channel_counts(in_channels, out_channels)
    bias, spatial_bias = as_flag(bias, "bias"), as_flag(spatial_bias, "spatial_bias")
    total = rank * conv2d_params(in_channels, out_channels, kernel_size, bias=False)
    if rank > 1 and input_dependent:
        total += _combining_net_params(in_channels, rank, input_size)
    elif rank > 1:
        total += rank * ((h_out + w_out) if shared else h_out * w_out)
    if spatial_bias:
        total += (h_out + w_out) if shared else h_out * w_out
    return total + (out_channels if bias else 0)


def conv2d_flops(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    stride: Size2 = 1,
    padding: Size2 | str = 0,
) -> int:
    """FLOPs of one example through ``nn.Conv2d``: ``2 * out * in * kh * kw * H_out * W_out``."""
    in_channels, out_channels = channel_counts(in_channels, out_channels)
    kh, kw = pair(kernel_size, "kernel_size")
    h_out, w_out = conv_output_size(input_size, kernel_size, stride, padding)
    return 2 * out_channels * in_channels * kh * kw * h_out * w_out


def lc2d_flops(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    stride: Size2 = 1,
    padding: Size2 | str = 0,
) -> int:
    """FLOPs of one example through :class:`.LocallyConnected2d`: the same as the convolution."""
    return conv2d_flops(in_channels, out_channels, kernel_size, input_size, stride, padding)


def lrlc2d_flops(
    in_channels: int,
    out_channels: int,
    kernel_size: Size2,
    input_size: Size2,
    rank: int,
    stride: Size2 = 1,
    padding: Size2 | str = 0,
    input_dependent: bool = False,
) -> int:
    """FLOPs of one example through :class:`.LowRankLocallyConnected2d`.

    A convolution with ``rank * out`` outputs, plus the weighted sum over ranks
    (``2 * rank * out * H_out * W_out``) when ``rank > 1``, plus the 1x1 and depthwise
    convolutions of the input-dependent network.
    """
    h_out, w_out = conv_output_size(input_size, kernel_size, stride, padding)
    rank, input_dependent, _ = lrlc_options(rank, (h_out, w_out), input_dependent)
    in_channels, out_channels = channel_counts(in_channels, out_channels)
    total = conv2d_flops(in_channels, rank * out_channels, kernel_size, input_size, stride, padding)
    if rank == 1:
        return total
    total += 2 * rank * out_channels * h_out * w_out
    if input_dependent:
        h, w = pair(input_size, "input_size")
        used = [d for d in _DILATIONS if d <= (min(h, w) - 1) // 2]
        width = (len(_DILATIONS) + 2) * rank
        branches = (len(used) + 2) * rank
        total += 2 * in_channels * rank * h * w  # 1x1 reduction at input resolution
        total += sum(2 * 9 * rank * (h - 2 * d) * (w - 2 * d) for d in used)  # depthwise
        per_pixel = branches * (width // 2) + (width // 2) * width + width * rank
        total += 2 * per_pixel * h_out * w_out
    return total


def network_flops(net: nn.Module, input_size: Size2 | None = None) -> dict[str, int]:
    """FLOPs per example of each spatial layer (Conv2d, LC, LRLC) of a paper network
    (:class:`lrlc.models.SimpleNetwork`), keyed by the layer's index in ``net.features``
    (``"0"``, ``"3"``, ``"6"``, not ``"features.0"``); BatchNorm, ReLU and the head are left
    out. input_size: default ``net.config.input_size``. Layers are 'valid', stride 1."""
    from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d  # (layers import us)

    if not (hasattr(net, "config") and hasattr(net, "features")):
        raise TypeError(
            f"network_flops counts the paper network (lrlc.models.SimpleNetwork, from "
            f"paper_network or build_network), got a {type(net).__name__}: for another model, "
            "add conv2d_flops / lc2d_flops / lrlc2d_flops per layer, or measure it with "
            "torch.utils.flop_counter.FlopCounterMode"
        )
    flops: dict[str, int] = {}
    size = input_size or net.config.input_size
    for name, m in net.features.named_children():
        if not isinstance(m, nn.Conv2d | LocallyConnected2d | LowRankLocallyConnected2d):
            continue
        shape = (m.in_channels, m.out_channels, m.kernel_size, size)
        if isinstance(m, LowRankLocallyConnected2d):
            flops[name] = lrlc2d_flops(*shape, m.rank, input_dependent=m.input_dependent)
        elif isinstance(m, LocallyConnected2d):
            flops[name] = lc2d_flops(*shape)
        else:
            flops[name] = conv2d_flops(*shape)
        size = conv_output_size(size, m.kernel_size)
    return flops
