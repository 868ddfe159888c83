"""The paper's network: layer types, widths, biases, parameter counts, errors."""

import math

import pytest
import torch
from torch import nn

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d, count_parameters
from lrlc.counting import conv2d_params, lc2d_params, lrlc2d_params
from lrlc.models import (
    NetworkConfig,
    SimpleNetwork,
    coordinate_channels,
    cost_table,
    network_costs,
    paper_network,
    wide_conv_width,
)

RANKED = {"lrlc": 4, "lrlc_input": 4, "wide_conv": 4}
KINDS = ["conv", "lc", "lrlc", "lrlc_input", "wide_conv", "coordconv"]


def head_and_norms(widths, classes):
    return sum(2 * w for w in widths) + widths[-1] * classes + classes


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "celeba"])
def test_every_layer_type_builds_and_runs(kind, dataset):
    model = paper_network(kind, RANKED.get(kind), dataset=dataset)
    c = model.config
    logits = model(torch.randn(2, c.in_channels, *c.input_size))
    assert logits.shape == (2, c.num_classes)


def test_conv_network_matches_the_official_architecture():
    model = paper_network("conv", dataset="mnist")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.padding) for m in convs] == [
        (1, 64, (3, 3), (0, 0)),
        (64, 64, (3, 3), (0, 0)),
        (64, 64, (3, 3), (0, 0)),
    ]
    assert all(m.bias is None for m in convs)  # BatchNorm follows
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 3 and all(n.momentum == 0.1 and n.eps == 1e-5 for n in norms)
    expected = 3 * 0 + conv2d_params(1, 64, 3, False) + 2 * conv2d_params(64, 64, 3, False)
    assert count_parameters(model) == expected + head_and_norms([64] * 3, 10)


@pytest.mark.parametrize(
    "where, replaced", [("all", (0, 1, 2)), ("last", (2,)), ("first", (0,)), ("middle", (1,))]
)
def test_lrlc_network_biases_and_parameter_count(where, replaced):
    model = paper_network("lrlc", 4, dataset="cifar10", where=where)
    assert [i for i, t in enumerate(model.config.layer_types) if t == "lrlc"] == list(replaced)
    layers = [m for m in model.modules() if isinstance(m, LowRankLocallyConnected2d)]
    assert len(layers) == len(replaced)
    assert all(m.bias is None and m.spatial_bias_row is not None for m in layers)
    sizes, chin, total = [(32, 32), (30, 30), (28, 28)], 3, 0
    for i, size in enumerate(sizes):
        if i in replaced:
            total += lrlc2d_params(chin, 64, 3, size, 4, bias=False)
        else:
            total += conv2d_params(chin, 64, 3, bias=False)
        chin = 64
    assert count_parameters(model) == total + head_and_norms([64] * 3, 10)


def test_lc_network_keeps_its_bias_and_counts():
    model = paper_network("lc", dataset="mnist")
    layers = [m for m in model.modules() if isinstance(m, LocallyConnected2d)]
    assert all(m.bias is not None for m in layers)  # as the official (use_bias=True)
    total = lc2d_params(1, 64, 3, (28, 28)) + lc2d_params(64, 64, 3, (26, 26))
    total += lc2d_params(64, 64, 3, (24, 24))
    assert count_parameters(model) == total + head_and_norms([64] * 3, 10)


def test_wide_conv_widths_follow_the_official_formula():
    assert wide_conv_width(4, 3, 64) == 72  # int(76 / 67 * 64)
    assert wide_conv_width(4, 72, 64) == 165  # int(352 / 136 * 64)
    model = paper_network("wide_conv", 4, dataset="cifar10")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [72, 165, 256]
    assert model.head.in_features == 256


def test_rank_one_lrlc_network_is_the_conv_network():
    conv = paper_network("conv", dataset="cifar10").double().eval()
    lrlc = paper_network("lrlc", 1, dataset="cifar10").double().eval()
    state = conv.state_dict()
    missing, unexpected = lrlc.load_state_dict(state, strict=False)
    assert not unexpected and all("spatial_bias" in k for k in missing)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(lrlc(x), conv(x), rtol=1e-12, atol=1e-12)


def test_coordconv_adds_row_and_column_channels():
    model = paper_network("coordconv", dataset="mnist")
    assert model.config.coord_conv and model.features[0].in_channels == 3
    coords = coordinate_channels(torch.zeros(2, 1, 3, 5))
    assert coords.shape == (2, 2, 3, 5)
    torch.testing.assert_close(coords[0, 0, :, 0], torch.tensor([-1.0, 0.0, 1.0]))
    torch.testing.assert_close(coords[0, 1, 0], torch.linspace(-1, 1, 5))


def test_keras_lc_init_is_smaller_by_the_square_root_of_the_positions():
    """The network's LC layers start at the official (Keras) scale by default: with a
    convolution's scale they hardly train at the learning rates that suit the others."""
    torch.manual_seed(0)
    fan_in = paper_network("lc", dataset="mnist", lc_init="fan_in").features[3].weight.std()
    torch.manual_seed(0)
    default = paper_network("lc", dataset="mnist").features[3].weight.std()
    assert (fan_in / default).item() == pytest.approx(24.0, rel=1e-4)  # sqrt(24 * 24)
    assert NetworkConfig().lc_init == "keras"


def test_config_round_trip():
    config = NetworkConfig(("conv", "lrlc", "lrlc_input"), rank=2, num_classes=40, multi_label=True)
    assert NetworkConfig.from_dict(config.to_dict()) == config
    assert SimpleNetwork(config)(torch.randn(1, 3, 32, 32)).shape == (1, 40)


def test_bad_configurations_name_the_problem():
    with pytest.raises(ValueError, match="unknown layer type 'lcc'.*conv, lc, lrlc"):
        NetworkConfig(("conv", "lcc", "conv"))
    with pytest.raises(ValueError, match="rank=4 was given but no layer uses it"):
        paper_network("conv", 4)
    with pytest.raises(ValueError, match="'lrlc' needs a rank"):
        paper_network("lrlc")
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        paper_network("conv", dataset="svhn")
    with pytest.raises(
        ValueError, match=r"built for inputs \(batch, 1, 28, 28\).*\(2, 1, 32, 32\)"
    ):
        paper_network("lc", dataset="mnist")(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="lc_init"):
        NetworkConfig(lc_init="glorot")


@pytest.mark.parametrize("layer", ["conv", "wide_conv", "lrlc", "lc"])
def test_every_layer_type_starts_he_uniform_as_the_official_network(layer):
    """The official network gives all layer types the same kernel initializer; PyTorch's
    Conv2d default would be sqrt(6) times narrower than the LC/LRLC layers' He-uniform."""
    torch.manual_seed(0)
    overrides = {"lc_init": "fan_in"} if layer == "lc" else {}  # the convolution's scale
    model = paper_network(
        layer, 4 if layer in ("lrlc", "wide_conv") else None, "cifar10", **overrides
    )
    weight = model.features[3].weight  # the second layer (wide conv: wider input)
    fan_in = weight.shape[-3] * 9  # in * kh * kw: (.., in, kh, kw) for every layer type
    bound = math.sqrt(6 / fan_in)
    assert weight.abs().max() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_network_costs_and_their_table():
    variants = [("conv", None, "all"), ("lrlc", 1, "all"), ("lc", None, "all")]
    costs = network_costs("mnist", variants)
    (conv_p, conv_f), (rank1_p, rank1_f), (lc_p, lc_f) = costs.values()
    # rank 1 is the convolution plus a spatial bias per row and per column of each layer's
    # output grid (26, 24, 22 on MNIST), shared by the channels
    assert rank1_p - conv_p == 2 * (26 + 24 + 22)
    # a filter bank per position: the multiply-adds of a convolution, 9 * c_in per output
    conv_macs = 9 * 64 * (1 * 26**2 + 64 * 24**2 + 64 * 22**2)
    assert conv_f == lc_f == 2 * conv_macs
    assert lc_p == count_parameters(paper_network("lc", None, "mnist"))
    lines = cost_table("mnist", variants[1:], title="MNIST network").data.splitlines()
    assert (
        lines[0]
        == "| MNIST network | parameters | ×\u00a0conv | MFLOPs per example | ×\u00a0conv |"
    )
    assert lines[2].startswith(f"| LRLC rank 1 | {rank1_p:,} | {rank1_p / conv_p:.2f}× |")
    assert lines[3].endswith(f"| {lc_f / 1e6:.1f} | 1.00× |")
    ((_, rank4_f),) = network_costs("mnist", [("lrlc", 4, "all")]).values()
    rank4_line = cost_table("mnist", [("lrlc", 4, "all")]).data.splitlines()[2]
    assert rank4_line.endswith(f"| {rank4_f / conv_f:.2f}× |") and rank4_f > conv_f


def test_the_network_is_conv_bn_relu_three_times_then_average_pool_and_head():
    net = paper_network("lrlc", 2, "mnist").eval()
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["LowRankLocallyConnected2d", "BatchNorm2d", "ReLU"] * 3
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(net(x), net.head(net.features(x).mean(dim=(2, 3))))


def test_coordconv_feeds_the_coordinates_to_its_first_layer():
    net = paper_network("coordconv", dataset="mnist")
    seen = {}
    net.features[0].register_forward_pre_hook(lambda module, args: seen.update(x=args[0]))
    x = torch.randn(2, 1, 28, 28)
    net(x)
    torch.testing.assert_close(seen["x"], torch.cat([x, coordinate_channels(x)], dim=1))


def test_the_misaligned_faces_network_takes_48_by_48_colour_images():
    config = paper_network("conv", dataset="trans_celeba48").config
    assert (config.in_channels, config.input_size, config.num_classes) == (3, (48, 48), 2)


def test_keras_lc_scale_counts_every_output_position_of_a_non_square_grid():
    """Keras' LC initialiser takes the fan-in times the number of output positions: on a
    20x28 input the middle layer's grid is 16x24, so the scale is sqrt(16 * 24) smaller."""
    torch.manual_seed(0)
    fan_in = paper_network("lc", dataset="mnist", input_size=(20, 28), lc_init="fan_in")
    torch.manual_seed(0)
    keras = paper_network("lc", dataset="mnist", input_size=(20, 28), lc_init="keras")
    ratio = fan_in.features[3].weight.std() / keras.features[3].weight.std()
    assert ratio.item() == pytest.approx(math.sqrt(16 * 24), rel=1e-4)


@pytest.mark.parametrize(
    "layer, rank, overrides",
    [("conv", None, {}), ("lc", None, {"lc_init": "keras"}), ("lrlc", 4, {}), ("wide_conv", 2, {})],
)
def test_reset_parameters_gives_the_weights_of_construction(layer, rank, overrides):
    """The network's own init (He-uniform convs, lc_init), not PyTorch's defaults: under the
    same seed, reset_parameters redraws exactly the weights the network was built with."""
    torch.manual_seed(0)
    model = paper_network(layer, rank, "mnist", **overrides)
    built = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model(torch.randn(4, 1, 28, 28))  # BatchNorm running statistics move
    torch.manual_seed(0)
    model.reset_parameters()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, built[name], rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("layer", ["conv", "lc", "lrlc_input"])
def test_reset_parameters_keeps_the_network_init_statistics(layer):
    """Each spatial layer He-uniform again (LC: scaled with lc_init="keras"), the LRLC
    combining logits and biases zero, as a fresh network."""
    overrides = {"lc_init": "keras"} if layer == "lc" else {}
    model = paper_network(layer, 4 if layer == "lrlc_input" else None, "cifar10", **overrides)
    fresh = paper_network(layer, 4 if layer == "lrlc_input" else None, "cifar10", **overrides)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    model.reset_parameters()
    for (name, p), q in zip(model.named_parameters(), fresh.parameters(), strict=True):
        if torch.all(q == q.flatten()[0]):  # constants: zeros (biases, logits), BN ones
            assert torch.equal(p, q), name
        elif q.numel() >= 500:  # uniform weights: the same bound and spread
            assert p.abs().max() <= q.abs().max() * 1.02, name
            assert p.std().item() == pytest.approx(q.std().item(), rel=0.1), name


def test_the_classifier_keeps_pytorch_s_linear_init():
    """A known difference from the official Keras Dense (Glorot weights, zero bias), kept."""
    head = paper_network("conv", dataset="cifar10").head
    bound = 1 / math.sqrt(head.in_features)
    assert head.weight.abs().max() <= bound and head.bias.abs().max() <= bound
    assert torch.count_nonzero(head.bias) > 0


def test_integer_like_config_values_are_ints():
    numpy = pytest.importorskip("numpy")
    config = NetworkConfig(
        ("lrlc",) * 3,
        rank=numpy.int64(2),
        in_channels=numpy.int64(1),
        input_size=numpy.array([12, 12]),
        num_classes=numpy.int32(4),
        width=numpy.int64(8),
        kernel_size=numpy.int64(3),
    )
    values = (config.rank, config.in_channels, *config.input_size, config.num_classes)
    assert all(type(v) is int for v in (*values, config.width, config.kernel_size))
    assert config == NetworkConfig(
        ("lrlc",) * 3, rank=2, in_channels=1, input_size=(12, 12), num_classes=4, width=8
    )
    assert SimpleNetwork(config)(torch.randn(2, 1, 12, 12)).shape == (2, 4)
    assert paper_network("lrlc", numpy.int64(2), "mnist").config.rank == 2
