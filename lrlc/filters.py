"""The filter bank each layer applies at each output position, for drawing and testing."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.shapes import Size2, conv_output_size

__all__ = ["effective_filters"]


def effective_filters(
    layer: nn.Module, x: Tensor | None = None, input_size: Size2 | None = None
) -> Tensor:
    """The filter bank applied at every output position of ``layer``.

    Returns (H_out, W_out, out_channels, in_channels, kh, kw); for an input-dependent LRLC
    layer, which needs its input x: (batch, in_channels, H, W), one bank per example:
    (batch, H_out, W_out, out_channels, in_channels, kh, kw).

    - :class:`.LocallyConnected2d`: its weight.
    - :class:`.LowRankLocallyConnected2d`: ``sum_k w[i, j, k] * basis_k`` at each position.
    - ``nn.Conv2d`` (with ``input_size``): the same filters at every position.

    This materialises every position's filters: use it to look at a layer, never in a
    forward pass. Gradients flow through it.
    """
    if isinstance(layer, LocallyConnected2d):
        return layer.weight
    if isinstance(layer, LowRankLocallyConnected2d):
        bases = layer.weight.view(layer.rank, layer.out_channels, *layer.weight.shape[1:])
        if layer.input_dependent and x is None:
            raise ValueError(
                "this layer's filters depend on its input: call effective_filters(layer, x) "
                "with x of shape (batch, in_channels, H, W)"
            )
        weights = layer.combining_weights(x) if layer.input_dependent else layer.combining_weights()
        return torch.einsum("...hwk,koiyx->...hwoiyx", weights, bases)
    if isinstance(layer, nn.Conv2d):
        if input_size is None:
            raise ValueError("a convolution has no input size of its own: pass input_size=(H, W)")
        if layer.groups != 1 or layer.dilation != (1, 1):
            raise ValueError("effective_filters supports plain convolutions (groups=1, dilation=1)")
        h_out, w_out = conv_output_size(input_size, layer.kernel_size, layer.stride, layer.padding)
        return layer.weight.expand(h_out, w_out, *layer.weight.shape)
    raise TypeError(
        f"effective_filters takes LocallyConnected2d, LowRankLocallyConnected2d or nn.Conv2d, "
        f"got {type(layer).__name__}"
    )
