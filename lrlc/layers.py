"""Locally connected (LC) and low-rank locally connected (LRLC) 2-D layers.

The LRLC layer follows Elsayed, Ramachandran, Shlens and Kornblith, "Revisiting Spatial
Invariance with Low-Rank Local Connectivity" (ICML 2020, arXiv 2002.02959), and behaves
like the official TensorFlow layer of the paper (google-research,
``low_rank_local_connectivity/layers.py``): ``rank`` basis filter banks are applied as one
convolution and mixed at every output position by softmax-normalised combining weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lrlc.shapes import (
    Size2,
    as_flag,
    as_int,
    channel_counts,
    check_input,
    conv_output_size,
    lrlc_options,
    pair,
    resolve_padding,
)

__all__ = ["LocallyConnected2d", "LowRankLocallyConnected2d", "InputDependentCombiningWeights"]


def _he_uniform_(weight: Tensor, fan_in: int) -> None:
    """He-uniform initialisation, as Keras' ``he_uniform``: U(-b, b) with b = sqrt(6 / fan_in)."""
    bound = math.sqrt(6.0 / fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def _memory_format(x: Tensor) -> torch.memory_format:
    """The layout a convolution keeps for input x: channels-last if x is (strictly) so.

    Inside ``torch.func.vmap`` the layout cannot be queried: NCHW (contiguous) there.
    """
    try:
        channels_last = x.is_contiguous(memory_format=torch.channels_last)
    except RuntimeError:  # "NYI: querying is_contiguous inside of vmap"
        return torch.contiguous_format
    if channels_last and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _mix_channels_last(y: Tensor, weights: Tensor, rank: int, out_channels: int) -> Tensor:
    """Sum the bases over ranks with per-position weights.

    y: (batch, rank * out, H_out, W_out), best in channels-last layout (then no copy);
    weights: (H_out, W_out, rank) or (batch, H_out, W_out, rank)
    -> (batch, out, H_out, W_out) in channels-last layout::

        out[b, o, i, j] = sum_k weights[(b,) i, j, k] * y[b, k * out + o, i, j]
    """
    b, _, h, w = y.shape
    bases = y.permute(0, 2, 3, 1).reshape(b, h * w, rank, out_channels)
    mix = weights.reshape(-1, h * w, 1, rank).to(bases.dtype)
    out = torch.matmul(mix, bases)  # (batch, H_out * W_out, 1, out)
    return out.reshape(b, h, w, out_channels).permute(0, 3, 1, 2)


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the incoming gradient contiguous.

    Put after a batched matmul whose output is then permuted: the gradient comes back in
    the permuted layout, which CPU ``bmm`` handles by a slow loop over the batch.
    """

    generate_vmap_rule = True  # works under torch.func transforms too

    @staticmethod
    def forward(x: Tensor) -> Tensor:
        """Return x unchanged (a view)."""
        return x.view_as(x)

    @staticmethod
    def setup_context(
        ctx: torch.autograd.function.FunctionCtx, inputs: tuple, output: Tensor
    ) -> None:
        """Nothing to save."""

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:
        """The gradient, contiguous."""
        return grad.contiguous()


class LocallyConnected2d(nn.Module):
    """A 2-D locally connected layer: an independent filter bank at every output position.

    Like ``nn.Conv2d`` but without weight sharing: the filters applied at output position
    ``(i, j)`` are ``weight[i, j]``. The layer is therefore tied to one input size.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: ``kh`` or ``(kh, kw)``.
        input_size: the spatial size ``(H, W)`` of the inputs this layer accepts.
        stride: ``s`` or ``(sh, sw)``, as in ``nn.Conv2d``.
        padding: zeros added on each side, as in ``nn.Conv2d``: ``p``, ``(ph, pw)``,
            ``"valid"`` (none) or ``"same"`` (the output as large as the input; odd kernels
            at stride 1 only).
        bias: add a learned bias per output channel and position.
        device, dtype: where and in which precision the parameters are made, as in
            ``torch.nn`` layers.

    Shapes:
        x: (batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out)
        weight: (H_out, W_out, out_channels, in_channels, kh, kw)
        bias: (out_channels, H_out, W_out): one per channel and position, as in Keras'
            ``LocallyConnected2D``, which stores it as (H_out, W_out, out_channels)
            (``bias.permute(2, 0, 1)`` when porting).

    Initialisation: He-uniform with the fan-in of one position (``in_channels * kh * kw``),
    the scale the paper network gives its convolutions (``sqrt(6)`` times ``nn.Conv2d``'s
    default bound); biases start at zero.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        input_size: Size2,
        stride: Size2 = 1,
        padding: Size2 | str = 0,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_channels, out_channels = channel_counts(in_channels, out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.input_size = pair(input_size, "input_size")
        self.stride = pair(stride, "stride")
        self.padding = resolve_padding(padding, self.kernel_size, self.stride)
        self.output_size = conv_output_size(
            self.input_size, self.kernel_size, self.stride, self.padding
        )
        bias = as_flag(bias, "bias")
        factory = {"device": device, "dtype": dtype}
        h_out, w_out = self.output_size
        self.weight = nn.Parameter(
            torch.empty(h_out, w_out, out_channels, in_channels, *self.kernel_size, **factory)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, h_out, w_out, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-uniform filters with the fan-in of one position, ``in * kh * kw`` (the scale
        of the paper network's He-uniform convolutions; ``NetworkConfig(lc_init="keras")``
        scales them down in that network), zero bias."""
        kh, kw = self.kernel_size
        _he_uniform_(self.weight, self.in_channels * kh * kw)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out), in the
        memory format of x (channels-last stays channels-last, as ``nn.Conv2d``)."""
        check_input(x, self.in_channels, self.input_size, type(self).__name__, self.weight)
        (h_out, w_out), (kh, kw), (sh, sw) = self.output_size, self.kernel_size, self.stride
        layout = _memory_format(x)
        ph, pw = self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph))
        # columns: (H_out * W_out, batch, in * kh * kw), one input patch per position and
        # example, gathered in one copy straight into the layout of a batched matmul.
        patches = x.permute(2, 3, 0, 1).unfold(0, kh, sh).unfold(1, kw, sw)
        columns = patches.reshape(h_out * w_out, x.shape[0], self.in_channels * kh * kw)
        weight = self.weight.reshape(h_out * w_out, self.out_channels, -1)
        # A batched matmul over positions: y[l, b, o] = sum_k columns[l, b, k] weight[l, o, k].
        y = _ContiguousGrad.apply(torch.bmm(columns, weight.transpose(1, 2)))
        y = y.permute(1, 2, 0).view(x.shape[0], self.out_channels, h_out, w_out)
        if self.bias is not None:
            # The (out, H_out, W_out) bias as the first operand makes the sum come out in
            # NCHW layout: the bias and the change of layout are one pass. The bias is
            # added in y's dtype: bf16 under autocast, as nn.Conv2d.
            y = self.bias.to(y.dtype) + y
        return y.contiguous(memory_format=layout)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, output_size={self.output_size}, stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class InputDependentCombiningWeights(nn.Module):
    """The small network that predicts LRLC combining-weight logits from the layer's input.

    As the official ``InputDependentCombiningWeights``: a 1x1 convolution reduces the input
    to ``rank`` channels; up to six branches see it at different scales (the reduced map
    itself, its global mean, and four dilated depthwise 3x3 convolutions with dilations
    1, 2, 4, 8, each used only when it fits the input: ``d <= (min(H, W) - 1) // 2``); every
    branch is resized bilinearly (corners aligned) to the output grid and concatenated;
    per-pixel 1x1 convolutions (squeeze + ReLU, excite + sigmoid, projection) map them to
    ``rank`` logits per position. The layer applies the softmax over ranks.

    Args:
        in_channels: channels of the layer's input x.
        rank: how many logits per position (the LRLC layer's rank).
        input_size: (H, W) of x.
        output_size: (H_out, W_out), the LRLC layer's output grid.
        dilations: the dilated branches asked for; those that do not fit the input are
            dropped (``dilations`` holds the kept ones), but every one asked for counts in
            the widths of the 1x1 convolutions, as in the official code.
        device, dtype: of the parameters, as in ``torch.nn``.

    Shapes:
        x: (batch, in_channels, H, W) -> logits (batch, H_out, W_out, rank)

    Initialisation: Glorot-uniform weights and zero biases (the Keras defaults the official
    network uses), so the logits start random, not at zero: unlike a spatial LRLC layer, an
    input-dependent one does not start at equal combining weights, nor as a convolution.
    """

    def __init__(
        self,
        in_channels: int,
        rank: int,
        input_size: Size2,
        output_size: Size2,
        dilations: tuple[int, ...] = (1, 2, 4, 8),
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        in_channels = as_int(in_channels, "in_channels", minimum=1)
        rank = as_int(rank, "rank", minimum=1)
        self.in_channels, self.rank = in_channels, rank
        self.input_size = pair(input_size, "input_size")
        self.output_size = pair(output_size, "output_size")
        for name, size in (("input_size", self.input_size), ("output_size", self.output_size)):
            if min(size) < 1:
                raise ValueError(f"{name} must be positive, got {size}")
        dilations = tuple(as_int(d, "each dilation", minimum=1) for d in dilations)
        self.requested_dilations = dilations  # they set the widths, used or not
        min_side = min(self.input_size)
        self.dilations = tuple(d for d in dilations if d <= (min_side - 1) // 2)
        self.reduce = nn.Conv2d(in_channels, rank, 1, **factory)
        self.multiscale = nn.ModuleList(
            nn.Conv2d(rank, rank, 3, dilation=d, groups=rank, **factory) for d in self.dilations
        )
        # The official widths count every dilation branch, used or not.
        width = (len(dilations) + 2) * rank
        branches = (len(self.dilations) + 2) * rank
        self.squeeze = nn.Conv2d(branches, width // 2, 1, **factory)
        self.excite = nn.Conv2d(width // 2, width, 1, **factory)
        self.project = nn.Conv2d(width, rank, 1, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases for every 1x1 and depthwise convolution, as
        Keras' defaults in the official code."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def _resize(self, t: Tensor) -> Tensor:
        if tuple(t.shape[-2:]) == self.output_size:
            return t
        return F.interpolate(t, size=self.output_size, mode="bilinear", align_corners=True)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, in_channels, H, W) -> logits (batch, H_out, W_out, rank)."""
        check_input(x, self.in_channels, self.input_size, type(self).__name__, self.reduce.weight)
        reduced = self.reduce(x)
        pooled = reduced.mean(dim=(2, 3), keepdim=True)
        branches = [self._resize(reduced), pooled.expand(-1, -1, *self.output_size)]
        branches += [self._resize(conv(reduced)) for conv in self.multiscale]
        h = torch.relu(self.squeeze(torch.cat(branches, dim=1)))
        h = torch.sigmoid(self.excite(h))
        return self.project(h).permute(0, 2, 3, 1)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, rank={self.rank}, input_size={self.input_size}, "
            f"output_size={self.output_size}, dilations={self.requested_dilations}"
        )


class LowRankLocallyConnected2d(nn.Module):
    """The low-rank locally connected (LRLC) layer of Elsayed et al. (2020).

    ``rank`` basis filter banks ``W_0 .. W_{K-1}`` (one ``nn.Conv2d``-shaped weight with
    ``rank * out_channels`` outputs; basis ``k`` is ``weight[k * out : (k + 1) * out]``)
    are mixed at each output position ``(i, j)`` by combining weights ``w[i, j, k]`` that
    sum to one over ``k``::

        y[:, :, i, j] = (sum_k w[i, j, k] * (W_k * x)[:, :, i, j])
                        + b_spatial[i, j] + b[:]

    which is a locally connected layer whose filter bank at ``(i, j)`` is
    ``sum_k w[i, j, k] W_k``. The forward pass never builds those per-position filters: it
    runs one convolution with ``rank * out_channels`` outputs and takes the weighted sum
    over ``k``.

    The combining weights are the softmax of the logits over ``k``; the logits are

    - spatial, shared (default, the official default): ``logits[i, j, k] = row[i, k] +
      col[j, k]``, ``rank * (H_out + W_out)`` parameters;
    - spatial, unshared (``share_combining_weights=False``): one logit per position and
      rank, ``(H_out, W_out, rank)``;
    - input-dependent (``input_dependent=True``): predicted per example from the layer's
      input by :class:`InputDependentCombiningWeights`.

    Spatial logits start at zero, so every position starts at exactly ``1 / rank``: the
    layer starts as a convolution with the mean of the bases. Input-dependent ones do not:
    the combining network starts with Glorot-uniform weights (the Keras default of the
    official one), so its logits start random and the weights vary by position and example
    (at rank 4 typically from about a tenth to about a half, depending on the seed and
    the input).
    With ``rank=1`` the only combining weight
    is 1, so no combining parameters (nor network) exist and the layer is a convolution.
    Trained at the filters' learning rate the spatial logits move slowly (the book's
    chapter 9); :func:`lrlc.train.fit` can give them a rate of their own
    (``combining_lr_scale``).

    Bias (as the official layer): a spatial bias shared over channels, ``row[i] + col[j]``
    when combining weights are shared, one value per position otherwise (always so in
    input-dependent mode, as in the official code), switched by ``spatial_bias``; plus a
    per-channel bias, switched by ``bias`` (drop it before BatchNorm, keep the spatial
    bias). Both start at zero.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: ``kh`` or ``(kh, kw)``.
        input_size: the spatial size ``(H, W)`` of the inputs this layer accepts.
        rank: the number of basis filter banks, ``1 <= rank``; at most ``H_out * W_out``
            with spatial combining weights (where that many already make an LC layer).
        stride: ``s`` or ``(sh, sw)``, as in ``nn.Conv2d``.
        padding: zeros added on each side, as in ``nn.Conv2d``: ``p``, ``(ph, pw)``,
            ``"valid"`` (none) or ``"same"`` (the output as large as the input; odd kernels
            at stride 1 only).
        bias: per-channel bias.
        input_dependent: predict combining weights from the input.
        share_combining_weights: spatial mode only: row + column logits (True, default) or
            per-position logits (False). ``None`` picks the official default of the mode.
        spatial_bias: add the spatial bias.
        device, dtype: where and in which precision the parameters are made, as in
            ``torch.nn`` layers.

    Shapes:
        x: (batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out)
        weight: (rank * out_channels, in_channels, kh, kw)

    Initialisation: bases He-uniform with the fan-in of one filter (``in_channels * kh *
    kw``), as the official ``he_uniform``. In input-dependent mode the construction draws
    the combining network's weights more than once, so ``reset_parameters()`` after
    ``torch.manual_seed(s)`` gives other weights than construction after the same seed
    (though equally distributed); in the spatial modes it gives the same.
    """

    def __init__(
        self,
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
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_channels, out_channels = channel_counts(in_channels, out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.input_size = pair(input_size, "input_size")
        self.stride = pair(stride, "stride")
        self.padding = resolve_padding(padding, self.kernel_size, self.stride)
        self.output_size = conv_output_size(
            self.input_size, self.kernel_size, self.stride, self.padding
        )
        h_out, w_out = self.output_size
        rank, input_dependent, shared = lrlc_options(
            rank, self.output_size, input_dependent, share_combining_weights
        )
        bias, spatial_bias = as_flag(bias, "bias"), as_flag(spatial_bias, "spatial_bias")
        self.rank = rank
        self.input_dependent = input_dependent
        self.share_combining_weights = shared
        factory = {"device": device, "dtype": dtype}

        self.weight = nn.Parameter(
            torch.empty(rank * out_channels, in_channels, *self.kernel_size, **factory)
        )
        # Optional parameters are registered as None when absent, as nn.Conv2d's bias.
        optional = ("combining_row", "combining_col", "combining_logits")
        optional += ("spatial_bias_row", "spatial_bias_col", "spatial_bias", "bias")
        for name in optional:
            self.register_parameter(name, None)
        # Combining weights: none at rank 1 (a softmax over one logit is constant).
        self.combining_net: InputDependentCombiningWeights | None = None
        if rank > 1 and input_dependent:
            self.combining_net = InputDependentCombiningWeights(
                in_channels, rank, self.input_size, self.output_size, **factory
            )
        elif rank > 1 and self.share_combining_weights:
            self.combining_row = nn.Parameter(torch.empty(h_out, rank, **factory))
            self.combining_col = nn.Parameter(torch.empty(w_out, rank, **factory))
        elif rank > 1:
            self.combining_logits = nn.Parameter(torch.empty(h_out, w_out, rank, **factory))

        if spatial_bias and self.share_combining_weights:
            self.spatial_bias_row = nn.Parameter(torch.empty(h_out, 1, **factory))
            self.spatial_bias_col = nn.Parameter(torch.empty(1, w_out, **factory))
        elif spatial_bias:
            self.spatial_bias = nn.Parameter(torch.empty(h_out, w_out, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-uniform bases (the fan-in of one filter), zero combining logits (every weight
        ``1 / rank``: the layer starts as a convolution), a fresh combining network, zero
        biases."""
        kh, kw = self.kernel_size
        _he_uniform_(self.weight, self.in_channels * kh * kw)
        for p in (self.combining_row, self.combining_col, self.combining_logits):
            if p is not None:
                nn.init.zeros_(p)  # softmax of equal logits: every weight is 1 / rank
        if self.combining_net is not None:
            self.combining_net.reset_parameters()
        for p in (self.spatial_bias_row, self.spatial_bias_col, self.spatial_bias, self.bias):
            if p is not None:
                nn.init.zeros_(p)

    def combining_weights(self, x: Tensor | None = None) -> Tensor:
        """The normalised combining weights (they sum to one over the last axis).

        Returns (H_out, W_out, rank) for spatial combining weights, or
        (batch, H_out, W_out, rank) for input-dependent ones, which need the layer's input
        x: (batch, in_channels, H, W).
        """
        if self.input_dependent:
            if x is None:
                raise ValueError(
                    "input-dependent combining weights are computed from the layer's input: "
                    "call combining_weights(x) with x of shape (batch, in_channels, H, W)"
                )
            check_input(x, self.in_channels, self.input_size, type(self).__name__, self.weight)
        return self._combining_weights(x)

    def _combining_weights(self, x: Tensor | None) -> Tensor:
        """:meth:`combining_weights` without this layer's check of x (forward has made it)."""
        if self.input_dependent:
            if self.combining_net is None:  # rank 1
                return x.new_ones(x.shape[0], *self.output_size, 1)
            return torch.softmax(self.combining_net(x), dim=-1)
        if self.combining_row is not None:
            logits = self.combining_row[:, None, :] + self.combining_col[None, :, :]
        elif self.combining_logits is not None:
            logits = self.combining_logits
        else:  # rank 1
            return self.weight.new_ones(*self.output_size, 1)
        return torch.softmax(logits, dim=-1)

    def total_bias(self) -> Tensor | None:
        """Spatial plus per-channel bias, broadcastable to (out_channels, H_out, W_out), or None."""
        spatial = self.spatial_bias
        if self.spatial_bias_row is not None:
            spatial = self.spatial_bias_row + self.spatial_bias_col
        if spatial is None and self.bias is None:
            return None
        if spatial is None:
            return self.bias[:, None, None]
        if self.bias is None:
            return spatial
        return spatial + self.bias[:, None, None]

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, in_channels, H, W) -> (batch, out_channels, H_out, W_out)."""
        check_input(x, self.in_channels, self.input_size, type(self).__name__, self.weight)
        bias = self.total_bias()  # added in y's dtype: bf16 under autocast, as nn.Conv2d
        if self.rank == 1:
            y = F.conv2d(x, self.weight, None, self.stride, self.padding)
            return y if bias is None else y + bias.to(y.dtype)
        weights = self._combining_weights(x)
        # The convolution with rank * out outputs, asked for in channels-last layout (a
        # channels-last weight makes the backends write (batch, H_out, W_out, rank, out)), so
        # the sum over ranks is one batched (1 x rank) @ (rank x out) product per position:
        # no copy of the rank-times-larger tensor, which a mix in NCHW layout needs.
        y = F.conv2d(
            x,
            self.weight.contiguous(memory_format=torch.channels_last),
            None,
            self.stride,
            self.padding,
        )
        y = _mix_channels_last(y, weights, self.rank, self.out_channels)
        layout = _memory_format(x)
        if bias is not None and layout == torch.contiguous_format:
            # A full (out, H_out, W_out) bias as the first operand makes the sum come out in
            # NCHW layout: the bias and the change of layout are one pass.
            y = bias.to(y.dtype).expand(self.out_channels, *self.output_size).contiguous() + y
        elif bias is not None:
            y = y + bias.to(y.dtype)
        return y.contiguous(memory_format=layout)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, rank={self.rank}, output_size={self.output_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.input_dependent:
            s += ", input_dependent=True"
        elif not self.share_combining_weights:
            s += ", share_combining_weights=False"
        if self.bias is None:
            s += ", bias=False"
        if self.spatial_bias is None and self.spatial_bias_row is None:
            s += ", spatial_bias=False"
        return s
