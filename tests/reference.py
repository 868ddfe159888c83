"""Float64 reference implementations by explicit loops, independent of the lrlc code paths.

They are slow and only meant for tiny sizes. Every formula here is the definition:
a filter bank per output position, applied to the input patch under it.
"""

from __future__ import annotations

import torch
from torch import Tensor


def zero_pad(x: Tensor, padding: tuple[int, int]) -> Tensor:
    """x: (batch, channels, H, W) -> (batch, channels, H + 2 ph, W + 2 pw), zeros around."""
    ph, pw = padding
    b, c, h, w = x.shape
    out = x.new_zeros(b, c, h + 2 * ph, w + 2 * pw)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def locally_connected(
    x: Tensor,
    filters: Tensor,
    bias: Tensor | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
) -> Tensor:
    """An LC layer by its definition, one output position at a time::

        y[b, o, i, j] = sum_{c,u,v} filters[i, j, o, c, u, v] x_pad[b, c, i sh + u, j sw + v]
                        + bias[o, i, j]

    x: (batch, in, H, W); filters: (H_out, W_out, out, in, kh, kw) -- or with a leading batch
    axis, one bank per example; bias: (out, H_out, W_out) or broadcastable, or None.
    """
    per_example = filters.dim() == 7
    h_out, w_out = filters.shape[-6:-4]
    kh, kw = filters.shape[-2:]
    xp = zero_pad(x, padding)
    rows = []
    for i in range(h_out):
        cols = []
        for j in range(w_out):
            patch = xp[:, :, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw]
            if per_example:
                cols.append(torch.einsum("bcuv,bocuv->bo", patch, filters[:, i, j]))
            else:
                cols.append(torch.einsum("bcuv,ocuv->bo", patch, filters[i, j]))
        rows.append(torch.stack(cols, dim=-1))
    y = torch.stack(rows, dim=-2)
    return y if bias is None else y + bias


def softmax(logits: Tensor) -> Tensor:
    """Softmax over the last axis, written out."""
    e = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def low_rank_filters(combining: Tensor, bases: Tensor) -> Tensor:
    """Per-position filters sum_k combining[..., i, j, k] * bases[k], by a loop over k.

    combining: (..., H_out, W_out, rank); bases: (rank, out, in, kh, kw)
    -> (..., H_out, W_out, out, in, kh, kw)
    """
    total = 0
    for k in range(bases.shape[0]):
        total = total + combining[..., k, None, None, None, None] * bases[k]
    return total


def resize_bilinear_align_corners(t: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize with aligned corners, by the formula: src = dst * (in - 1) / (out - 1)."""
    b, c, h, w = t.shape
    out = t.new_zeros(b, c, *size)
    for i in range(size[0]):
        si = i * (h - 1) / (size[0] - 1) if size[0] > 1 else 0.0
        i0 = int(si)
        i1, fi = min(i0 + 1, h - 1), si - i0
        for j in range(size[1]):
            sj = j * (w - 1) / (size[1] - 1) if size[1] > 1 else 0.0
            j0 = int(sj)
            j1, fj = min(j0 + 1, w - 1), sj - j0
            out[:, :, i, j] = (
                (1 - fi) * (1 - fj) * t[:, :, i0, j0]
                + (1 - fi) * fj * t[:, :, i0, j1]
                + fi * (1 - fj) * t[:, :, i1, j0]
                + fi * fj * t[:, :, i1, j1]
            )
    return out


def pointwise(t: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """A 1x1 convolution: t (b, c, h, w), weight (o, c, 1, 1), bias (o,) -> (b, o, h, w)."""
    return torch.einsum("bchw,oc->bohw", t, weight[:, :, 0, 0]) + bias[:, None, None]


def depthwise_dilated(t: Tensor, weight: Tensor, bias: Tensor, d: int) -> Tensor:
    """Valid depthwise 3x3 convolution with dilation d, by loops over the kernel taps."""
    b, c, h, w = t.shape
    out = bias[:, None, None].expand(c, h - 2 * d, w - 2 * d).clone().expand(b, -1, -1, -1)
    for u in range(3):
        for v in range(3):
            tap = t[:, :, u * d : u * d + h - 2 * d, v * d : v * d + w - 2 * d]
            out = out + weight[:, 0, u, v][:, None, None] * tap
    return out


def combining_net_logits(net, x: Tensor) -> Tensor:
    """The official input-dependent combining network, re-derived step by step.

    net: a ``lrlc.InputDependentCombiningWeights`` (only its parameters are used).
    x: (batch, in, H, W) -> logits (batch, H_out, W_out, rank)
    """
    size = net.output_size
    low = pointwise(x, net.reduce.weight, net.reduce.bias)
    branches = [
        resize_bilinear_align_corners(low, size),
        low.mean(dim=(2, 3), keepdim=True).expand(-1, -1, *size),
    ]
    for d, conv in zip(net.dilations, net.multiscale, strict=True):
        branches.append(
            resize_bilinear_align_corners(depthwise_dilated(low, conv.weight, conv.bias, d), size)
        )
    h = torch.cat(branches, dim=1)
    h = torch.clamp(pointwise(h, net.squeeze.weight, net.squeeze.bias), min=0)
    h = 1 / (1 + torch.exp(-pointwise(h, net.excite.weight, net.excite.bias)))
    return pointwise(h, net.project.weight, net.project.bias).permute(0, 2, 3, 1)
