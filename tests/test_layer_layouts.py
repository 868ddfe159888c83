"""The layers' memory layouts: channels-last inputs give the same values and gradients."""

from __future__ import annotations

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d

F64 = torch.float64
CL = torch.channels_last


def make(kind: str) -> torch.nn.Module:
    if kind == "lc":
        layer = LocallyConnected2d(3, 4, 3, (7, 6), padding=1, dtype=F64)
    else:
        kw = {"input_dependent": True} if kind == "lrlc_id" else {}
        layer = LowRankLocallyConnected2d(3, 4, 3, (7, 6), 3, stride=(2, 1), dtype=F64, **kw)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(0.5 * torch.randn_like(p))
    return layer


@pytest.mark.parametrize("kind", ["lc", "lrlc", "lrlc_id"])
def test_channels_last_input_gives_the_same_values_and_gradients(kind):
    layer = make(kind)
    x = torch.randn(2, 3, 7, 6, dtype=F64, requires_grad=True)
    x_cl = x.detach().contiguous(memory_format=CL).requires_grad_()
    y, y_cl = layer(x), layer(x_cl)
    torch.testing.assert_close(y_cl, y, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    params = list(layer.parameters())
    grads = torch.autograd.grad(y, [x, *params], g)
    grads_cl = torch.autograd.grad(y_cl, [x_cl, *params], g)
    for a, b in zip(grads_cl, grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["lc", "lrlc", "lrlc_id"])
def test_nchw_input_gives_a_contiguous_output(kind):
    y = make(kind)(torch.randn(2, 3, 7, 6, dtype=F64))
    assert y.is_contiguous()
    assert y.view(2, -1).shape[1] == y[0].numel()  # view works: plain NCHW memory


def test_lrlc_keeps_a_channels_last_input_channels_last():
    layer = LowRankLocallyConnected2d(3, 4, 3, (9, 9), 2)
    y = layer(torch.randn(2, 3, 9, 9).contiguous(memory_format=CL))
    assert y.is_contiguous(memory_format=CL) and not y.is_contiguous()
