"""Parameter and FLOP formulas against the built layers."""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lrlc import (
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    conv2d_flops,
    conv2d_params,
    count_parameters,
    lc2d_flops,
    lc2d_params,
    lrlc2d_flops,
    lrlc2d_params,
)

GEOMETRIES = [  # (in, out, kernel, input_size, stride, padding)
    (3, 64, 3, (32, 32), 1, 0),
    (64, 64, 3, (30, 30), 1, 0),
    (1, 8, (2, 3), (28, 27), 2, 1),
    (5, 7, 3, (6, 12), (1, 2), (1, 0)),
]


def flops(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // x.shape[0]


@pytest.mark.parametrize("g", GEOMETRIES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_and_lc_params(g, bias):
    cin, cout, k, size, s, p = g
    assert conv2d_params(cin, cout, k, bias) == count_parameters(
        nn.Conv2d(cin, cout, k, s, p, bias=bias)
    )
    layer = LocallyConnected2d(cin, cout, k, size, s, p, bias=bias)
    assert lc2d_params(cin, cout, k, size, s, p, bias) == count_parameters(layer)


@pytest.mark.parametrize("g", GEOMETRIES)
@pytest.mark.parametrize("rank", [1, 2, 4, 16])
@pytest.mark.parametrize(
    "mode",
    [
        {},
        {"bias": False},
        {"spatial_bias": False},
        {"share_combining_weights": False},
        {"input_dependent": True},
        {"input_dependent": True, "bias": False},
    ],
)
def test_lrlc_params(g, rank, mode):
    cin, cout, k, size, s, p = g
    layer = LowRankLocallyConnected2d(cin, cout, k, size, rank, s, p, **mode)
    assert lrlc2d_params(cin, cout, k, size, rank, s, p, **mode) == count_parameters(layer)


def test_paper_layer_counts():
    # 64 -> 64, 3x3 on 30x30 -> 28x28 outputs: conv 36,928; LC 784x that; LRLC rank 4.
    assert conv2d_params(64, 64, 3) == 36_928
    assert lc2d_params(64, 64, 3, (30, 30)) == 784 * 36_928
    assert lrlc2d_params(64, 64, 3, (30, 30), 4, bias=False) == 4 * 36_864 + 4 * 56 + 56


@pytest.mark.parametrize("g", GEOMETRIES)
@pytest.mark.parametrize("rank", [1, 2, 4])
@pytest.mark.parametrize("input_dependent", [False, True])
def test_flops_match_torch_flop_counter(g, rank, input_dependent):
    cin, cout, k, size, s, p = g
    x = torch.randn(2, cin, *size)
    assert conv2d_flops(cin, cout, k, size, s, p) == flops(nn.Conv2d(cin, cout, k, s, p), x)
    assert lc2d_flops(cin, cout, k, size, s, p) == flops(
        LocallyConnected2d(cin, cout, k, size, s, p), x
    )
    layer = LowRankLocallyConnected2d(
        cin, cout, k, size, rank, s, p, input_dependent=input_dependent
    )
    assert lrlc2d_flops(cin, cout, k, size, rank, s, p, input_dependent) == flops(layer, x)


def test_network_flops_walks_the_paper_network():
    import lrlc
    from lrlc.models import paper_network

    conv = lrlc.network_flops(paper_network("conv", dataset="mnist"))
    assert conv == {
        "0": lrlc.conv2d_flops(1, 64, 3, 28),
        "3": lrlc.conv2d_flops(64, 64, 3, 26),
        "6": lrlc.conv2d_flops(64, 64, 3, 24),
    }
    mixed = lrlc.network_flops(paper_network("lrlc", 4, "cifar10", where="last"))
    assert mixed["6"] == lrlc.lrlc2d_flops(64, 64, 3, 28, 4)
    assert mixed["3"] == lrlc.conv2d_flops(64, 64, 3, 30)
    dependent = lrlc.network_flops(paper_network("lrlc_input", 4, "cifar10"))
    assert dependent["0"] == lrlc.lrlc2d_flops(3, 64, 3, 32, 4, input_dependent=True)
    assert lrlc.network_flops(paper_network("lc", dataset="mnist"))["3"] == lrlc.lc2d_flops(
        64, 64, 3, 26
    )


@pytest.mark.parametrize(
    ("kwargs", "combining", "spatial"),
    [
        # K banks of 8 x 3 x 3 x 3; K (6 + 6) row and column logits; 6 + 6 spatial bias
        (dict(rank=4), 4 * 12, 12),
        # per-position logits and spatial bias: K * 36 and 36
        (dict(rank=4, share_combining_weights=False), 4 * 36, 36),
        # rank 1: no combining parameters at all
        (dict(rank=1), 0, 12),
    ],
)
def test_lrlc_params_by_role_adds_up_to_the_layer(kwargs, combining, spatial):
    from lrlc import LowRankLocallyConnected2d, count_parameters, lrlc_params_by_role

    layer = LowRankLocallyConnected2d(3, 8, 3, (8, 8), **kwargs)
    roles = lrlc_params_by_role(layer)
    rank = kwargs["rank"]
    assert roles == {"bases": rank * 8 * 3 * 9, "combining": combining,
                     "spatial bias": spatial, "bias": 8}  # fmt: skip
    assert sum(roles.values()) == count_parameters(layer)
    predicted = LowRankLocallyConnected2d(3, 8, 3, (8, 8), rank=4, input_dependent=True, bias=False)
    roles = lrlc_params_by_role(predicted)
    assert "bias" not in roles and roles["combining"] == count_parameters(predicted.combining_net)
    assert sum(roles.values()) == count_parameters(predicted)
    with pytest.raises(TypeError, match="takes a LowRankLocallyConnected2d, got Conv2d"):
        lrlc_params_by_role(nn.Conv2d(3, 8, 3))


def test_count_parameters_counts_only_trainable_ones():
    linear = nn.Linear(3, 4)
    linear.bias.requires_grad_(False)
    assert count_parameters(linear) == 12
