"""LC and LRLC layers against the float64 loop references of ``reference.py``."""

from __future__ import annotations

import pytest
import reference as ref
import torch
from devices import DEVICES
from torch import nn

from lrlc import (
    InputDependentCombiningWeights,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    count_parameters,
    effective_filters,
    lc2d_params,
)

F64 = torch.float64
GEOMETRIES = [  # (input_size, kernel_size, stride, padding)
    ((5, 6), (3, 3), (1, 1), (0, 0)),
    ((6, 5), (2, 3), (2, 1), (1, 0)),
    ((7, 7), (3, 3), (2, 2), (1, 1)),
    ((5, 6), (3, 2), (1, 2), (0, 1)),  # padding of the width alone
]


def randomize(module: nn.Module, scale: float = 0.5) -> nn.Module:
    """Replace every parameter (zeros at init included) with random values."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn_like(p))
    return module


def lrlc_reference(layer: LowRankLocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
    """LRLC by the definition: per-position filters sum_k w[i, j, k] W_k, then an LC loop."""
    bases = layer.weight.view(layer.rank, layer.out_channels, *layer.weight.shape[1:])
    h_out, w_out = layer.output_size
    if layer.rank == 1:
        combining = torch.ones(h_out, w_out, 1, dtype=x.dtype)
    elif layer.input_dependent:
        combining = ref.softmax(ref.combining_net_logits(layer.combining_net, x))
    elif layer.share_combining_weights:
        logits = torch.stack(
            [
                torch.stack([layer.combining_row[i] + layer.combining_col[j] for j in range(w_out)])
                for i in range(h_out)
            ]
        )
        combining = ref.softmax(logits)
    else:
        combining = ref.softmax(layer.combining_logits)
    filters = ref.low_rank_filters(combining, bases)
    return ref.locally_connected(x, filters, reference_bias(layer), layer.stride, layer.padding)


def reference_bias(layer: LowRankLocallyConnected2d) -> torch.Tensor:
    """The layer's bias (out, H_out, W_out), summed from its parameters by hand."""
    bias = torch.zeros(layer.out_channels, *layer.output_size, dtype=layer.weight.dtype)
    if layer.spatial_bias_row is not None:
        bias = bias + layer.spatial_bias_row + layer.spatial_bias_col
    if layer.spatial_bias is not None:
        bias = bias + layer.spatial_bias
    if layer.bias is not None:
        bias = bias + layer.bias[:, None, None]
    return bias


def make_lc(geometry, bias=True, **kw):
    size, k, s, p = geometry
    return randomize(
        LocallyConnected2d(2, 3, k, size, stride=s, padding=p, bias=bias, dtype=F64, **kw)
    )


def make_lrlc(geometry, rank, **kw):
    size, k, s, p = geometry
    return randomize(
        LowRankLocallyConnected2d(2, 3, k, size, rank, stride=s, padding=p, dtype=F64, **kw)
    )


LRLC_MODES = [
    {},
    {"share_combining_weights": False},
    {"input_dependent": True},
    {"bias": False},
    {"spatial_bias": False},
]


# ---------------------------------------------------------------- values and gradients


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("bias", [True, False])
def test_lc_matches_reference(geometry, bias):
    layer = make_lc(geometry, bias)
    x = torch.randn(2, 2, *geometry[0], dtype=F64, requires_grad=True)
    y = layer(x)
    y_ref = ref.locally_connected(x, layer.weight, layer.bias, geometry[2], geometry[3])
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    params = [x, *layer.parameters()]
    grads = torch.autograd.grad(y, params, g)
    grads_ref = torch.autograd.grad(y_ref, params, g)
    for a, b in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", LRLC_MODES)
def test_lrlc_matches_reference(geometry, rank, mode):
    layer = make_lrlc(geometry, rank, **mode)
    x = torch.randn(2, 2, *geometry[0], dtype=F64, requires_grad=True)
    y = layer(x)
    y_ref = lrlc_reference(layer, x)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
    g = torch.randn_like(y)
    params = [x, *layer.parameters()]
    grads = torch.autograd.grad(y, params, g)
    grads_ref = torch.autograd.grad(y_ref, params, g)
    for a, b in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_input_dependent_uses_every_dilation_that_fits():
    # min side 9: dilations 1, 2, 4 fit ((9 - 1) // 2 = 4), 8 does not.
    layer = randomize(
        LowRankLocallyConnected2d(2, 3, 3, (9, 10), 3, input_dependent=True, dtype=F64)
    )
    assert layer.combining_net.dilations == (1, 2, 4)
    x = torch.randn(2, 2, 9, 10, dtype=F64)
    torch.testing.assert_close(layer(x), lrlc_reference(layer, x), rtol=1e-10, atol=1e-12)
    net = InputDependentCombiningWeights(2, 3, (17, 17), (15, 15), dtype=F64)
    assert net.dilations == (1, 2, 4, 8)
    randomize(net)
    x = torch.randn(1, 2, 17, 17, dtype=F64)
    torch.testing.assert_close(net(x), ref.combining_net_logits(net, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rank", [2, 4])
def test_input_dependent_weights_are_a_distribution_per_example_from_its_own_input(rank):
    layer = make_lrlc(GEOMETRIES[0], rank, input_dependent=True)
    x = torch.randn(2, 2, *GEOMETRIES[0][0], dtype=F64)
    weights = layer.combining_weights(x)
    assert weights.shape == (2, *layer.output_size, rank)
    assert (weights > 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, *layer.output_size, dtype=F64))
    assert (weights[0] - weights[1]).abs().max() > 1e-3  # two inputs, two sets of weights
    changed = x.clone()
    changed[1] = torch.randn_like(x[1])
    again = layer.combining_weights(changed)
    assert torch.equal(again[0], weights[0])  # example 0's weights ignore example 1
    assert (again[1] - weights[1]).abs().max() > 1e-3


def test_gradcheck_lc():
    layer = make_lc(GEOMETRIES[1])
    x = torch.randn(2, 2, *GEOMETRIES[1][0], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: torch.func.functional_call(layer, {"weight": w, "bias": b}, (x,)),
        (x, layer.weight, layer.bias),
    )


@pytest.mark.parametrize(
    "mode", [{}, {"share_combining_weights": False}, {"input_dependent": True}]
)
def test_gradcheck_lrlc(mode):
    layer = make_lrlc(GEOMETRIES[0], 3, **mode)
    names = [n for n, _ in layer.named_parameters()]
    x = torch.randn(1, 2, *GEOMETRIES[0][0], dtype=F64, requires_grad=True)

    def f(x, *params):
        return torch.func.functional_call(layer, dict(zip(names, params, strict=True)), (x,))

    assert torch.autograd.gradcheck(f, (x, *layer.parameters()))


@pytest.mark.parametrize("rank", [1, 2, 4])
@pytest.mark.parametrize("mode", LRLC_MODES)
def test_every_parameter_gets_a_gradient(rank, mode):
    layer = make_lrlc(GEOMETRIES[2], rank, **mode)
    layer(torch.randn(2, 2, *GEOMETRIES[2][0], dtype=F64)).pow(2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_no_combining_parameters_without_a_gradient():
    names = lambda layer: {n.split(".")[0] for n, _ in layer.named_parameters()}  # noqa: E731
    assert names(LowRankLocallyConnected2d(2, 3, 3, (5, 5), 1)) == {
        "weight",
        "spatial_bias_row",
        "spatial_bias_col",
        "bias",
    }
    assert names(LowRankLocallyConnected2d(2, 3, 3, (5, 5), 1, input_dependent=True)) == {
        "weight",
        "spatial_bias",
        "bias",
    }
    assert "combining_row" not in names(
        LowRankLocallyConnected2d(2, 3, 3, (5, 5), 2, input_dependent=True)
    )
    assert "combining_net" in names(
        LowRankLocallyConnected2d(2, 3, 3, (5, 5), 2, input_dependent=True)
    )


# ---------------------------------------------------------------- equivalences the book teaches


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("input_dependent", [False, True])
def test_rank_one_is_a_convolution(geometry, input_dependent):
    size, k, s, p = geometry
    conv = nn.Conv2d(2, 3, k, stride=s, padding=p, dtype=F64)
    layer = LowRankLocallyConnected2d(
        2,
        3,
        k,
        size,
        1,
        stride=s,
        padding=p,
        spatial_bias=False,
        input_dependent=input_dependent,
        dtype=F64,
    )
    layer.load_state_dict({"weight": conv.weight, "bias": conv.bias})
    x = torch.randn(3, 2, *size, dtype=F64)
    torch.testing.assert_close(layer(x), conv(x), rtol=0, atol=1e-13)
    # With the (zero-initialised) spatial bias it is the same convolution at init.
    with_bias = LowRankLocallyConnected2d(
        2, 3, k, size, 1, stride=s, padding=p, dtype=F64, input_dependent=input_dependent
    )
    with_bias.weight.data.copy_(conv.weight)
    with_bias.bias.data.copy_(conv.bias)
    torch.testing.assert_close(with_bias(x), conv(x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("mode", LRLC_MODES[:3])
def test_identical_bases_are_a_convolution_whatever_the_combining_weights(geometry, mode):
    """The general mixing path (rank > 1, random combining weights) collapses to the
    convolution when every basis is the same filter bank: the weights sum to one."""
    size, k, s, p = geometry
    conv = nn.Conv2d(2, 3, k, stride=s, padding=p, dtype=F64)
    layer = make_lrlc(geometry, 3, spatial_bias=False, **mode)  # random logits or network
    with torch.no_grad():
        layer.weight.copy_(conv.weight.repeat(3, 1, 1, 1))
        layer.bias.copy_(conv.bias)
    x = torch.randn(3, 2, *size, dtype=F64)
    weights = layer.combining_weights(x)
    assert weights.std(-1).min() > 0.01  # not uniform: the mixing really mixes
    torch.testing.assert_close(layer(x), conv(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("rank", [2, 3, 5])
def test_initial_combining_weights_are_uniform_so_the_layer_is_the_mean_convolution(rank):
    layer = LowRankLocallyConnected2d(2, 3, 3, (6, 6), rank, dtype=F64)
    assert torch.equal(layer.combining_weights(), torch.full((4, 4, rank), 1 / rank, dtype=F64))
    unshared = LowRankLocallyConnected2d(
        2, 3, 3, (6, 6), rank, share_combining_weights=False, dtype=F64
    )
    assert torch.equal(unshared.combining_weights(), torch.full((4, 4, rank), 1 / rank, dtype=F64))
    mean_basis = layer.weight.view(rank, 3, 2, 3, 3).mean(0)
    x = torch.randn(2, 2, 6, 6, dtype=F64)
    torch.testing.assert_close(
        layer(x), nn.functional.conv2d(x, mean_basis), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_lc_with_identical_filters_is_a_convolution(geometry):
    size, k, s, p = geometry
    conv = nn.Conv2d(2, 3, k, stride=s, padding=p, dtype=F64)
    lc = LocallyConnected2d(2, 3, k, size, stride=s, padding=p, dtype=F64)
    with torch.no_grad():
        lc.weight.copy_(conv.weight.expand_as(lc.weight))
        lc.bias.copy_(conv.bias[:, None, None].expand_as(lc.bias))
    x = torch.randn(3, 2, *size, dtype=F64)
    torch.testing.assert_close(lc(x), conv(x), rtol=1e-12, atol=1e-12)


def one_hot_lrlc(geometry, rank, choice):
    """An unshared LRLC layer whose combining weights are exactly one-hot: choice[i, j] = k."""
    layer = make_lrlc(geometry, rank, share_combining_weights=False, bias=False, spatial_bias=False)
    with torch.no_grad():
        logits = torch.full_like(layer.combining_logits, float("-inf"))
        logits.scatter_(-1, choice[..., None], 0.0)
        layer.combining_logits.copy_(logits)
    return layer


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_one_hot_combining_weights_reproduce_an_lc_layer_of_the_bases(geometry):
    rank = 3
    probe = LowRankLocallyConnected2d(
        2, 3, geometry[1], geometry[0], rank, stride=geometry[2], padding=geometry[3]
    )
    choice = torch.randint(0, rank, probe.output_size)
    layer = one_hot_lrlc(geometry, rank, choice)
    bases = layer.weight.view(rank, 3, *layer.weight.shape[1:])
    lc = make_lc(geometry, bias=False)
    with torch.no_grad():
        lc.weight.copy_(bases[choice])  # the LC filter bank at (i, j) is basis choice[i, j]
    assert torch.equal(layer.combining_weights(), nn.functional.one_hot(choice, rank).to(F64))
    x = torch.randn(2, 2, *geometry[0], dtype=F64)
    torch.testing.assert_close(layer(x), lc(x), rtol=1e-12, atol=1e-12)


def test_full_rank_lrlc_can_be_any_lc_layer():
    geometry = ((4, 4), (3, 3), (1, 1), (0, 0))  # 2 x 2 = 4 output positions
    choice = torch.arange(4).view(2, 2)
    layer = one_hot_lrlc(geometry, 4, choice)
    lc = make_lc(geometry, bias=False)
    with torch.no_grad():
        layer.weight.copy_(lc.weight.reshape(4 * 3, 2, 3, 3))
    x = torch.randn(2, 2, 4, 4, dtype=F64)
    torch.testing.assert_close(layer(x), lc(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rank", [1, 2, 3, 5])
@pytest.mark.parametrize("mode", [{}, {"share_combining_weights": False}])
def test_stacked_effective_filters_have_matrix_rank_equal_to_rank(rank, mode):
    layer = make_lrlc(((8, 8), (3, 3), (1, 1), (0, 0)), rank, **mode)
    filters = effective_filters(layer)
    assert filters.shape == (6, 6, 3, 2, 3, 3)
    assert torch.linalg.matrix_rank(filters.reshape(36, -1)) == rank


def test_effective_filters_reproduce_the_forward_pass():
    for layer in (make_lrlc(GEOMETRIES[1], 3), make_lrlc(GEOMETRIES[1], 2, input_dependent=True)):
        x = torch.randn(2, 2, *GEOMETRIES[1][0], dtype=F64)
        filters = effective_filters(layer, x)
        bias = reference_bias(layer)
        y_ref = ref.locally_connected(x, filters, bias, layer.stride, layer.padding)
        torch.testing.assert_close(layer(x), y_ref, rtol=1e-12, atol=1e-12)
    conv = nn.Conv2d(2, 3, 3, dtype=F64)
    assert effective_filters(conv, input_size=(5, 6)).shape == (3, 4, 3, 2, 3, 3)
    lc = make_lc(GEOMETRIES[0])
    assert effective_filters(lc) is lc.weight


# ---------------------------------------------------------------- shapes, state, devices


@pytest.mark.parametrize("geometry", GEOMETRIES + [((32, 32), (3, 3), (1, 1), (1, 1))])
def test_output_shapes_follow_conv2d(geometry):
    size, k, s, p = geometry
    expected = nn.Conv2d(2, 3, k, stride=s, padding=p)(torch.zeros(1, 2, *size)).shape
    x = torch.randn(1, 2, *size)
    assert LocallyConnected2d(2, 3, k, size, stride=s, padding=p)(x).shape == expected
    for kw in ({}, {"input_dependent": True}):
        assert (
            LowRankLocallyConnected2d(2, 3, k, size, 2, stride=s, padding=p, **kw)(x).shape
            == expected
        )


@pytest.mark.parametrize(
    "cls_kw",
    [
        (LocallyConnected2d, {}),
        (LowRankLocallyConnected2d, {"rank": 3}),
        (LowRankLocallyConnected2d, {"rank": 3, "share_combining_weights": False}),
        (LowRankLocallyConnected2d, {"rank": 3, "input_dependent": True}),
    ],
)
def test_state_dict_round_trip(cls_kw, tmp_path):
    cls, kw = cls_kw
    layer = randomize(cls(2, 3, 3, (6, 6), **kw))
    torch.save(layer.state_dict(), tmp_path / "layer.pt")
    fresh = cls(2, 3, 3, (6, 6), **kw)
    fresh.load_state_dict(torch.load(tmp_path / "layer.pt", weights_only=True))
    x = torch.randn(2, 2, 6, 6)
    assert torch.equal(fresh(x), layer(x))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", [{}, {"input_dependent": True}])
def test_devices_agree_with_float64_reference(device, mode):
    layer = make_lrlc(GEOMETRIES[0], 3, **mode).float()
    x = torch.randn(2, 2, *GEOMETRIES[0][0])
    y_ref = lrlc_reference(layer.double(), x.double())
    layer = layer.float().to(device)
    y = layer(x.to(device)).cpu().double()
    assert (y - y_ref).norm() / y_ref.norm() < 1e-5
    lc = make_lc(GEOMETRIES[0])
    y_ref = ref.locally_connected(x.double(), lc.weight, lc.bias, lc.stride, lc.padding)
    y = lc.float().to(device)(x.to(device)).cpu().double()
    assert (y - y_ref).norm() / y_ref.norm() < 1e-5


def test_bf16_autocast_on_cpu_is_close():
    layer = make_lrlc(((10, 10), (3, 3), (1, 1), (0, 0)), 4).float()
    x = torch.randn(4, 2, 10, 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    y_ref = lrlc_reference(layer.double(), x.double())
    assert (y.double() - y_ref).norm() / y_ref.norm() < 2e-2


def test_extra_repr_names_the_configuration():
    text = repr(LowRankLocallyConnected2d(64, 32, 3, (32, 32), rank=4, bias=False))
    assert (
        "64, 32, kernel_size=(3, 3), input_size=(32, 32), rank=4" in text and "bias=False" in text
    )
    assert "input_dependent=True" in repr(
        LowRankLocallyConnected2d(3, 8, 3, (9, 9), 2, input_dependent=True)
    )
    assert "output_size=(30, 30)" in repr(LocallyConnected2d(3, 8, 3, (32, 32)))
    lc = repr(LocallyConnected2d(3, 8, 3, (8, 8), stride=2, padding=1, bias=False))
    assert "stride=(2, 2), padding=(1, 1), bias=False" in lc
    lrlc = repr(LowRankLocallyConnected2d(3, 8, 3, (8, 8), 2, padding=1))
    assert "output_size=(8, 8), stride=(1, 1), padding=(1, 1)" in lrlc
    assert "spatial_bias=False" not in lrlc  # its spatial bias is a row and a column
    per_position = LowRankLocallyConnected2d(3, 8, 3, (8, 8), 2, share_combining_weights=False)
    assert "share_combining_weights=False" in repr(per_position)
    assert "spatial_bias=False" in repr(
        LowRankLocallyConnected2d(3, 8, 3, (8, 8), 2, spatial_bias=False)
    )
    # the dilations asked for, though only those that fit an 8x8 input are built
    assert "dilations=(1, 2, 4, 8)" in repr(InputDependentCombiningWeights(2, 3, (8, 8), (6, 6)))


def test_initialisation_is_he_uniform():
    layer = LowRankLocallyConnected2d(64, 64, 3, (12, 12), 4)
    bound = (6 / (64 * 9)) ** 0.5
    assert layer.weight.abs().max() <= bound
    assert layer.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)
    lc = LocallyConnected2d(64, 8, 3, (12, 12))
    assert lc.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)
    assert torch.count_nonzero(lc.bias) == 0
    bound = (6 / (64 * 5)) ** 0.5  # fan-in in x kh x kw, for kernels that are not square
    for weight in (
        LocallyConnected2d(64, 8, (1, 5), (12, 12)).weight,
        LowRankLocallyConnected2d(64, 8, (5, 1), (12, 12), 4).weight,
    ):
        assert weight.abs().max() <= bound
        assert weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)


FLOAT_LAYERS = [  # float32, random parameters (biases too), 6x6 inputs of 2 channels
    pytest.param(lambda: randomize(LocallyConnected2d(2, 3, 3, (6, 6))), id="lc"),
    pytest.param(lambda: randomize(LowRankLocallyConnected2d(2, 3, 3, (6, 6), 1)), id="rank1"),
    pytest.param(lambda: randomize(LowRankLocallyConnected2d(2, 3, 3, (6, 6), 3)), id="rank3"),
    pytest.param(
        lambda: randomize(LowRankLocallyConnected2d(2, 3, 3, (6, 6), 3, input_dependent=True)),
        id="input_dependent",
    ),
]


@pytest.mark.parametrize("make", FLOAT_LAYERS)
def test_vmap_over_the_batch_equals_the_batched_call(make):
    """torch.func.vmap cannot query a tensor's memory format: the layers fall back to NCHW."""
    layer, x = make(), torch.randn(4, 2, 6, 6)
    per_example = torch.func.vmap(lambda xi: layer(xi[None])[0])(x)
    torch.testing.assert_close(per_example, layer(x))


@pytest.mark.parametrize("make", FLOAT_LAYERS)
def test_bf16_autocast_output_dtype_is_conv2d_s(make):
    """The float32 bias is added in the result's dtype, as nn.Conv2d: bf16 under autocast."""
    layer, x = make(), torch.randn(2, 2, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = nn.Conv2d(2, 3, 3)(x).dtype
        assert layer(x).dtype == expected == torch.bfloat16
        channels_last = x.contiguous(memory_format=torch.channels_last)
        assert layer(channels_last).dtype == torch.bfloat16
    assert layer(x).dtype == torch.float32
    assert layer.double()(x.double()).dtype == F64


@pytest.mark.parametrize("make", FLOAT_LAYERS)
def test_an_empty_batch_gives_an_empty_output_as_conv2d(make):
    layer = make()
    y = layer(torch.randn(0, 2, 6, 6))
    assert y.shape == nn.Conv2d(2, 3, 3)(torch.randn(0, 2, 6, 6)).shape == (0, 3, 4, 4)


@pytest.mark.parametrize("make", FLOAT_LAYERS)
def test_output_keeps_the_input_memory_format(make):
    layer, x = make(), torch.randn(2, 2, 6, 6)
    channels_last = x.contiguous(memory_format=torch.channels_last)
    y, y_last = layer(x), layer(channels_last)
    assert y.is_contiguous()
    assert y_last.is_contiguous(memory_format=torch.channels_last) and not y_last.is_contiguous()
    torch.testing.assert_close(y_last, y)


def test_one_channel_input_gives_a_contiguous_output_as_conv2d():
    """(B, 1, H, W) is contiguous and channels-last at once: Conv2d returns NCHW."""
    x = torch.randn(2, 1, 6, 6)
    assert nn.Conv2d(1, 3, 3)(x).is_contiguous()
    for layer in (
        LocallyConnected2d(1, 3, 3, (6, 6)),
        LowRankLocallyConnected2d(1, 3, 3, (6, 6), 2),
    ):
        assert layer(x).is_contiguous()


def test_rank_one_combining_weights_have_the_output_grid_and_check_the_input():
    spatial = LowRankLocallyConnected2d(2, 3, 3, (5, 6), 1)  # a 3 x 4 output grid
    assert spatial.combining_weights().shape == (3, 4, 1)
    assert effective_filters(spatial).shape[:2] == (3, 4)
    layer = LowRankLocallyConnected2d(3, 8, 3, (8, 9), 1, input_dependent=True)
    assert layer.combining_weights(torch.randn(2, 3, 8, 9)).shape == (2, 6, 7, 1)
    with pytest.raises(ValueError, match=r"LowRankLocallyConnected2d was built for inputs"):
        layer.combining_weights(torch.randn(2, 3, 7, 7))


def test_integer_like_sizes_and_rank_are_taken_as_ints():
    """NumPy integers (and a NumPy pair) work as in nn.Conv2d, stored as Python ints."""
    numpy = pytest.importorskip("numpy")
    layer = LowRankLocallyConnected2d(
        numpy.int64(2), 3, numpy.int64(3), numpy.array([6, 6]), rank=numpy.int64(2)
    )
    assert (layer.in_channels, layer.kernel_size, layer.input_size, layer.rank) == (
        2, (3, 3), (6, 6), 2,
    )  # fmt: skip
    assert all(type(v) is int for v in (layer.in_channels, layer.rank, *layer.input_size))
    lc = LocallyConnected2d(2, 3, (numpy.int32(3), 3), (6, numpy.int16(6)), stride=numpy.int8(1))
    assert lc.kernel_size == (3, 3) and lc.input_size == (6, 6) and lc.stride == (1, 1)
    assert lc(torch.randn(1, 2, 6, 6)).shape == (1, 3, 4, 4)


# ---------------------------------------------------------------- padding by name


@pytest.mark.parametrize("kernel", [1, 3, (3, 5)])
def test_same_padding_keeps_the_size_and_equals_explicit_padding(kernel):
    """padding="same" is (k - 1) // 2 zeros a side; "valid" is none: as nn.Conv2d."""
    size = (7, 9)
    x = torch.randn(2, 2, *size, dtype=F64)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    explicit = ((kh - 1) // 2, (kw - 1) // 2)
    for make in (
        lambda p: LocallyConnected2d(2, 3, kernel, size, padding=p, dtype=F64),
        lambda p: LowRankLocallyConnected2d(2, 3, kernel, size, 3, padding=p, dtype=F64),
    ):
        torch.manual_seed(0)
        by_name = make("same")
        torch.manual_seed(0)
        by_ints = make(explicit)
        assert by_name.padding == explicit and by_name.output_size == size
        torch.testing.assert_close(by_name(x), by_ints(x), rtol=0, atol=0)
        assert make("valid").padding == (0, 0)
    lc = LocallyConnected2d(2, 3, kernel, size, padding="same")
    assert lc2d_params(2, 3, kernel, size, padding="same") == count_parameters(lc)
    conv = nn.Conv2d(2, 3, kernel, padding="same", dtype=F64)
    assert conv(x).shape == LocallyConnected2d(2, 3, kernel, size, padding="same")(x.float()).shape
    assert effective_filters(conv, input_size=size).shape[:2] == size


def test_combining_network_starts_glorot_uniform_with_zero_biases():
    """As the official network's Keras layers start: every weight of the predictor from
    U(-b, b), b = sqrt(6 / (fan_in + fan_out)), and zero biases, so its logits start random
    (the docstrings say so), not at equal weights."""
    import math

    torch.manual_seed(0)
    net = InputDependentCombiningWeights(64, 8, (12, 12), (10, 10))
    convs = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) >= 5
    for name, conv in convs:
        out_channels, in_per_group, kh, kw = conv.weight.shape
        bound = math.sqrt(6 / ((in_per_group + out_channels) * kh * kw))
        assert conv.weight.abs().max() <= bound, name
        # the standard deviation of U(-b, b) is b / sqrt(3)
        assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.2), name
        assert torch.count_nonzero(conv.bias) == 0, name


def test_effective_filters_of_a_strided_convolution_have_its_output_grid():
    conv = nn.Conv2d(2, 3, 3, stride=2)
    filters = effective_filters(conv, input_size=(7, 9))
    assert filters.shape[:2] == (3, 4)  # (7 - 3) // 2 + 1, (9 - 3) // 2 + 1
    torch.testing.assert_close(filters[2, 3], conv.weight.detach())
