"""Bad input gets a ValueError that names the problem and the fix."""

import numpy as np
import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d, effective_filters
from lrlc.models import NetworkConfig, SimpleNetwork, paper_network

LAYERS = [
    lambda: LocallyConnected2d(3, 8, 3, (32, 32)),
    lambda: LowRankLocallyConnected2d(3, 8, 3, (32, 32), rank=4),
    lambda: LowRankLocallyConnected2d(3, 8, 3, (32, 32), rank=4, input_dependent=True),
]


@pytest.mark.parametrize("make", LAYERS)
def test_wrong_spatial_size_names_both_sizes_and_the_fix(make):
    with pytest.raises(ValueError) as info:
        make()(torch.randn(2, 3, 28, 28))
    message = str(info.value)
    assert "(32, 32)" in message and "(28, 28)" in message and "input_size=(28, 28)" in message
    with pytest.raises(ValueError, match=r"built for inputs .*\(32, 32\), got \(32, 28\)"):
        make()(torch.randn(2, 3, 32, 28))  # the width alone wrong


@pytest.mark.parametrize("make", LAYERS)
def test_non_4d_input(make):
    with pytest.raises(ValueError, match="4-D input.*unsqueeze"):
        make()(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="4-D input"):
        make()(torch.randn(32, 32))


@pytest.mark.parametrize("make", LAYERS)
def test_wrong_channels(make):
    with pytest.raises(ValueError, match="3 input channels, got 1"):
        make()(torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("rank", [0, -1, 2.0, True])
def test_rank_must_be_a_positive_int(rank):
    with pytest.raises(ValueError, match="rank must be an int >= 1"):
        LowRankLocallyConnected2d(3, 8, 3, (32, 32), rank=rank)


def test_rank_larger_than_the_number_of_positions():
    LowRankLocallyConnected2d(3, 8, 3, (5, 5), rank=9)
    with pytest.raises(ValueError, match=r"rank=10 .* 3 x 3 = 9"):
        LowRankLocallyConnected2d(3, 8, 3, (5, 5), rank=10)
    with pytest.raises(ValueError, match=r"rank=13 .* 3 x 4 = 12"):  # height x width
        LowRankLocallyConnected2d(3, 8, 3, (5, 6), rank=13)


@pytest.mark.parametrize(
    "cls_kw", [(LocallyConnected2d, {}), (LowRankLocallyConnected2d, {"rank": 1})]
)
def test_kernel_larger_than_padded_input(cls_kw):
    cls, kw = cls_kw
    with pytest.raises(
        ValueError, match=r"kernel_size \(5, 5\) is larger than the padded input \(4, 4\)"
    ):
        cls(3, 8, 5, (2, 2), padding=1, **kw)
    cls(3, 8, 5, (3, 3), padding=1, **kw)


@pytest.mark.parametrize("arg", ["kernel_size", "stride", "padding", "input_size"])
def test_malformed_geometry_names_the_argument(arg):
    kwargs = {"kernel_size": 3, "input_size": (8, 8), "stride": 1, "padding": 0}
    kwargs[arg] = (1, 2, 3)
    with pytest.raises(ValueError, match=arg):
        LocallyConnected2d(3, 8, **kwargs)
    kwargs[arg] = -1 if arg != "input_size" else (0, 8)
    with pytest.raises(ValueError, match=f"{arg} must be"):
        LocallyConnected2d(3, 8, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [  # each half of a pair is checked, not only the first
        ({"kernel_size": torch.tensor(True)}, "kernel_size must be an int or a pair of ints"),
        ({"input_size": (8, 8.0)}, "input_size must be an int or a pair of ints"),
        ({"out_channels": 0}, "in_channels and out_channels must be >= 1"),
        ({"stride": (1, 2), "padding": "same"}, "stride 1"),
        ({"kernel_size": (3, 4), "padding": "same"}, "odd kernel"),
        ({"input_size": (8, 0), "padding": 1}, "input_size must be positive"),
        ({"kernel_size": (3, 0)}, "kernel_size must be positive"),
        ({"stride": (1, 0)}, "stride must be positive"),
        ({"padding": (0, -1)}, "padding must be non-negative"),
        ({"kernel_size": (3, 5), "input_size": (8, 4)}, r"\(3, 5\) is larger .* \(8, 4\)"),
    ],
)
def test_the_second_of_two_sizes_is_checked_too(kwargs, message):
    args = {"in_channels": 3, "out_channels": 8, "kernel_size": 3, "input_size": (8, 8), **kwargs}
    with pytest.raises(ValueError, match=message):
        LocallyConnected2d(**args)


def test_input_dependent_needs_the_input():
    layer = LowRankLocallyConnected2d(3, 8, 3, (8, 8), rank=2, input_dependent=True)
    with pytest.raises(ValueError, match=r"combining_weights\(x\)"):
        layer.combining_weights()
    with pytest.raises(ValueError, match="share_combining_weights"):
        LowRankLocallyConnected2d(
            3, 8, 3, (8, 8), rank=2, input_dependent=True, share_combining_weights=True
        )
    with pytest.raises(ValueError, match="input_size"):
        effective_filters(torch.nn.Conv2d(3, 8, 3))
    with pytest.raises(TypeError, match="effective_filters takes"):
        effective_filters(torch.nn.Linear(3, 8))


@pytest.mark.parametrize(
    "kwargs, fix",
    [
        ({"kernel_size": 3, "stride": 2, "padding": "same"}, "stride 1"),
        ({"kernel_size": 4, "padding": "same"}, "odd kernel"),
        ({"kernel_size": 3, "padding": "full"}, "'valid', 'same'"),
    ],
)
@pytest.mark.parametrize(
    "cls_kw", [(LocallyConnected2d, {}), (LowRankLocallyConnected2d, {"rank": 2})]
)
def test_padding_by_name_says_what_it_supports(kwargs, fix, cls_kw):
    cls, kw = cls_kw
    with pytest.raises(ValueError, match=fix):
        cls(3, 8, input_size=(8, 8), **kwargs, **kw)


@pytest.mark.parametrize("make", LAYERS)
def test_channels_last_input_gets_the_permute_hint(make):
    with pytest.raises(ValueError, match=r"3 input channels, got 32.*x\.permute\(0, 3, 1, 2\)"):
        make()(torch.randn(2, 32, 32, 3))
    with pytest.raises(ValueError) as info:
        make()(torch.randn(2, 1, 32, 32))
    assert "permute" not in str(info.value)


def test_network_channels_last_input_gets_the_permute_hint():
    with pytest.raises(ValueError, match=r"\(2, 28, 28, 1\).*x\.permute\(0, 3, 1, 2\)"):
        paper_network("conv", dataset="mnist")(torch.randn(2, 28, 28, 1))
    with pytest.raises(ValueError) as info:  # 3 channels first and last: no permute to suggest
        paper_network("conv", dataset="cifar10")(torch.randn(2, 3, 32, 3))
    assert "permute" not in str(info.value)


def test_coordconv_takes_no_rank():
    with pytest.raises(ValueError, match="coordconv takes no rank, got rank=4"):
        paper_network("coordconv", 4)


def test_input_too_small_for_the_network_says_the_smallest_size():
    with pytest.raises(ValueError, match="3 valid 3x3 layers need an input of at least 7x7"):
        NetworkConfig(input_size=(6, 6))
    with pytest.raises(ValueError, match="2 valid 5x5 layers need an input of at least 9x9"):
        NetworkConfig(("conv", "lc"), input_size=(9, 8), kernel_size=5)
    assert SimpleNetwork(NetworkConfig(input_size=(7, 7)))(torch.randn(2, 3, 7, 7)).shape == (2, 10)


def test_layer_types_as_a_string_is_rejected():
    with pytest.raises(ValueError, match=r"layer_types must be a tuple.*\('lrlc',\) \* 3.*'lrlc'"):
        NetworkConfig(layer_types="lrlc", rank=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rank": 2.0}, r"rank must be an int >= 1, got 2.0 \(float\)"),
        ({"rank": True}, r"rank must be an int >= 1, got True \(bool\)"),
        ({"kernel_size": 3.0}, r"kernel_size must be an int or a pair of ints, got 3.0 \(float\)"),
        ({"input_size": (8.0, 8)}, r"input_size .* got \(8.0, 8\) \(tuple\)"),
        ({"in_channels": "3"}, r"in_channels must be an int, got '3' \(str\)"),
    ],
)
def test_non_integer_sizes_name_their_type(kwargs, message):
    args = {"in_channels": 3, "kernel_size": 3, "input_size": (8, 8), "rank": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        LowRankLocallyConnected2d(out_channels=4, **args)


def test_non_integer_network_settings_name_their_type():
    with pytest.raises(ValueError, match=r"rank must be an int >= 1, got 2.5 \(float\)"):
        NetworkConfig(("lrlc",), rank=2.5)
    with pytest.raises(ValueError, match=r"width must be an int >= 1, got 0 \(int\)"):
        NetworkConfig(width=0)


@pytest.mark.parametrize("kwargs", [{"bias": "no"}, {"input_dependent": "no"}, {"spatial_bias": 0}])
def test_switches_must_be_booleans(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got"):
        LowRankLocallyConnected2d(3, 8, 3, (8, 8), rank=2, **kwargs)
    LowRankLocallyConnected2d(3, 8, 3, (8, 8), rank=2, **{name: False})
    LowRankLocallyConnected2d(3, 8, 3, (8, 8), rank=2, **{name: np.False_})  # NumPy's too


def test_numpy_switches_are_kept_as_python_booleans():
    layer = LowRankLocallyConnected2d(
        3, 8, 3, (8, 8), rank=2, input_dependent=np.False_, share_combining_weights=np.True_
    )
    assert type(layer.input_dependent) is bool and type(layer.share_combining_weights) is bool


@pytest.mark.parametrize("make", LAYERS)
def test_integer_input_asks_for_floats(make):
    with pytest.raises(ValueError, match=r"floating-point input, got torch.uint8.*x.float\(\)"):
        make()(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


@pytest.mark.parametrize("make", LAYERS)
def test_input_of_another_dtype_names_both_and_autocast_is_allowed(make):
    layer = make()
    with pytest.raises(ValueError, match=r"torch.float32 weights but got a torch.float64 input"):
        layer(torch.randn(2, 3, 32, 32, dtype=torch.float64))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(torch.randn(2, 3, 32, 32, dtype=torch.bfloat16)).shape[:2] == (2, 8)
    on_meta = make().to("meta")  # a device autocast does not know: the same message
    with pytest.raises(ValueError, match=r"float32 weights but got a torch.float16 input"):
        on_meta(torch.randn(2, 3, 32, 32, device="meta", dtype=torch.float16))
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(ValueError, match="float16"):
        on_meta(torch.randn(2, 3, 32, 32, device="meta", dtype=torch.float16))  # CPU's only


def test_autocast_is_read_on_a_torch_before_2_4(monkeypatch):
    from lrlc import shapes

    enabled = torch.is_autocast_enabled

    def before_2_4(*args):  # no device type: CUDA's autocast
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments")
        return enabled("cuda")

    def on(device_type):  # torch.autocast itself asks the new way: patch inside it
        with monkeypatch.context() as m:
            m.setattr(torch, "is_autocast_enabled", before_2_4)
            m.setattr(torch, "is_autocast_cpu_enabled", lambda: enabled("cpu"))
            return shapes._autocast_on(device_type)

    assert not on("cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert on("cpu") and not on("cuda")


@pytest.mark.parametrize("make", LAYERS)
def test_input_on_another_device_names_both_and_the_fix(make):
    # the meta device stands in for a GPU: the check is the same
    with pytest.raises(
        ValueError, match=r"weights on meta but got an input on cpu.*x.to\('meta'\)"
    ):
        make().to("meta")(torch.randn(2, 3, 32, 32))
    with pytest.raises(
        ValueError, match=r"weights on cpu but got an input on meta.*layer.to\('meta'\)"
    ):
        make()(torch.randn(2, 3, 32, 32, device="meta"))


def test_another_device_of_the_same_type_is_another_device():
    from types import SimpleNamespace

    from lrlc.shapes import check_input

    weight = SimpleNamespace(device=torch.device("cpu", 1), dtype=torch.float32)
    with pytest.raises(ValueError, match=r"weights on cpu:1 but got an input on cpu"):
        check_input(torch.randn(1, 2, 4, 4), 2, (4, 4), "Layer", weight)


def test_the_network_and_the_combining_network_check_the_device():
    from lrlc import InputDependentCombiningWeights as Combining

    for module, shape in [
        (Combining(2, 3, (8, 8), (6, 6)), (1, 2, 8, 8)),
        (paper_network("conv", dataset="mnist"), (1, 1, 28, 28)),
    ]:
        with pytest.raises(ValueError, match="weights on meta but got an input on cpu"):
            module.to("meta")(torch.randn(*shape))


def test_the_combining_network_checks_its_arguments_and_input():
    from lrlc import InputDependentCombiningWeights as Combining

    net = Combining(2, 3, (8, 8), (6, 6))
    with pytest.raises(ValueError, match=r"built for inputs of spatial size \(8, 8\)"):
        net(torch.randn(1, 2, 32, 32))
    with pytest.raises(ValueError, match="expects 2 input channels, got 3"):
        net(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="4-D input"):
        net(torch.randn(2, 8, 8))
    for args, message in [
        ((0, 3), "in_channels must be an int >= 1"),
        ((2, -1), "rank must be an int >= 1"),
        ((2, 2.5), r"rank must be an int >= 1, got 2.5"),
    ]:
        with pytest.raises(ValueError, match=message):
            Combining(*args, (8, 8), (6, 6))
    with pytest.raises(ValueError, match="each dilation must be an int >= 1, got 0"):
        Combining(2, 3, (8, 8), (6, 6), dilations=(0,))


def test_input_dependent_layers_take_any_rank():
    layer = LowRankLocallyConnected2d(8, 8, 3, (3, 3), rank=4, input_dependent=True)
    assert layer(torch.randn(2, 8, 3, 3)).shape == (2, 8, 1, 1)
    with pytest.raises(ValueError, match=r"rank=4 .* 1 x 1 = 1.*input-dependent"):
        LowRankLocallyConnected2d(8, 8, 3, (3, 3), rank=4)


def test_counting_helpers_refuse_what_the_layers_refuse():
    from lrlc.counting import conv2d_params, lrlc2d_flops, lrlc2d_params, network_flops

    for call, message in [
        (lambda: lrlc2d_params(2, 3, 3, (8, 8), -2), "rank must be an int >= 1"),
        (lambda: lrlc2d_params(2, 3, 3, (8, 8), 0), "rank must be an int >= 1"),
        (lambda: lrlc2d_flops(2, 3, 3, (8, 8), 0), "rank must be an int >= 1"),
        (lambda: lrlc2d_params(2, 3, 3, (8, 8), 37), r"rank=37 .* 6 x 6 = 36"),
        (lambda: conv2d_params(2.5, 3, 3), r"in_channels must be an int, got 2.5"),
        (
            lambda: lrlc2d_params(
                2, 3, 3, (8, 8), 2, input_dependent=True, share_combining_weights=True
            ),
            "share_combining_weights=True needs spatial combining weights",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(TypeError, match="network_flops counts the paper network.*Sequential"):
        network_flops(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3)))


def test_paper_network_takes_other_image_sizes_and_refuses_what_it_sets():
    net = paper_network("lc", dataset="mnist", input_size=(20, 20), in_channels=2)
    assert net(torch.randn(2, 2, 20, 20)).shape == (2, 10)
    with pytest.raises(ValueError, match="num_classes must be an int >= 1, got 0"):
        paper_network("conv", num_classes=0)
    with pytest.raises(ValueError, match="paper_network sets coord_conv from its arguments"):
        paper_network("conv", coord_conv=True)


def test_paper_network_names_what_it_takes():
    assert paper_network("conv", dataset="CIFAR10").config.input_size == (32, 32)
    with pytest.raises(ValueError, match="unknown layer 'lrcl': choose from .*coordconv"):
        paper_network("lrcl", rank=2)
    with pytest.raises(
        ValueError, match="where must be 'all', 'last', 'first' or 'middle', got 'mid'"
    ):
        paper_network("lrlc", rank=2, where="mid")
    with pytest.raises(ValueError, match="conv is the same network .* drop where='first'"):
        paper_network("conv", where="first")
    with pytest.raises(TypeError, match="unknown settings widht: .* width"):
        paper_network("conv", widht=16)
    for layer in ("lrlc", "lrlc_input", "wide_conv"):
        with pytest.raises(ValueError, match=f"layer type '{layer}' needs a rank"):
            paper_network(layer)


def test_the_network_names_the_fix_for_a_3d_or_integer_input():
    net = paper_network("conv", dataset="mnist")
    with pytest.raises(ValueError, match=r"4-D input .* x.unsqueeze\(0\)"):
        net(torch.zeros(1, 28, 28))
    with pytest.raises(ValueError, match=r"floating-point input, got torch.uint8.*x.float\(\)"):
        net(torch.zeros(1, 1, 28, 28, dtype=torch.uint8))


def test_a_split_passed_as_a_loader_gets_the_loader_call():
    from lrlc import data
    from lrlc.train import evaluate, fit

    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    split = data.ImageDataset("mnist", "train", images, torch.zeros(4, dtype=torch.long),
                              tuple("0123456789"), "idx", "", True, "")  # fmt: skip
    net = paper_network("conv", dataset="mnist")
    with pytest.raises(TypeError, match=r"train must yield \(x, y\) batches.*train.loader\(64"):
        fit(net, split, epochs=1)
    with pytest.raises(TypeError, match="valid must yield"):
        fit(net, split.loader(2), valid=split, epochs=1)
    with pytest.raises(TypeError, match=r"got the mnist 'train' split itself"):
        evaluate(net, split)
    with pytest.raises(ValueError, match="the evaluation loader yielded no batches"):
        evaluate(net, [])


def test_a_gpu_asked_of_a_loader_or_checkpoint_where_there_is_none(monkeypatch, tmp_path):
    from lrlc.checkpoints import load_checkpoint, save_checkpoint
    from lrlc.loader import DeviceLoader, Normalization

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    images, labels = torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(RuntimeError, match="GPU was requested but none is available"):
        DeviceLoader(images, labels, 2, Normalization(1 / 255, 0.0), device="cuda")
    path = save_checkpoint(tmp_path / "net.pt", paper_network("conv", dataset="mnist"))
    with pytest.raises(RuntimeError, match="GPU was requested but none is available"):
        load_checkpoint(path, device="cuda")


def test_a_bare_state_dict_is_not_a_checkpoint(tmp_path):
    from lrlc.checkpoints import load_checkpoint

    torch.save(paper_network("conv", dataset="mnist").state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ValueError, match=r"not a checkpoint of save_checkpoint.*load_state_dict"):
        load_checkpoint(tmp_path / "weights.pt")


def test_misaligned_faces_name_how_they_are_made():
    from lrlc import data
    from lrlc.misaligned import place_in_noise

    with pytest.raises(ValueError, match="load 'celeba' and wrap its loader in .*MisalignedLoader"):
        data.load("trans_celeba48", "train")
    with pytest.raises(ValueError, match=r"float batch in \[0, 1\].*x.float\(\) / 255"):
        place_in_noise(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


def test_effective_filters_and_the_combining_network_refuse_what_they_cannot_do():
    from lrlc import InputDependentCombiningWeights

    for conv in (torch.nn.Conv2d(4, 4, 3, groups=2), torch.nn.Conv2d(4, 4, 3, dilation=2)):
        with pytest.raises(ValueError, match=r"plain convolutions \(groups=1, dilation=1\)"):
            effective_filters(conv, input_size=(8, 8))
    for sizes, name in [(((0, 8), (6, 6)), "input_size"), (((8, 8), (6, 0)), "output_size")]:
        with pytest.raises(ValueError, match=f"{name} must be positive"):
            InputDependentCombiningWeights(2, 3, *sizes)


def test_tensors_or_a_dataset_passed_as_a_loader_get_the_dataloader_call():
    from torch.utils.data import DataLoader, TensorDataset

    from lrlc.train import evaluate, fit

    net = paper_network("conv", dataset="mnist", width=4)
    x, y = torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,))
    with pytest.raises(TypeError, match=r"a tuple of tensors: pass \[\(x, y\)\]"):
        fit(net, (x, y), epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"got a tensor: pass \[\(x, y\)\]"):
        evaluate(net, x)
    with pytest.raises(TypeError, match=r"single examples \(TensorDataset\): wrap it"):
        fit(net, TensorDataset(x, y), epochs=1, progress=False)
    # what the messages propose works
    fit(net, DataLoader(TensorDataset(x, y), batch_size=2), epochs=1, progress=False)
    assert 0 <= evaluate(net, [(x, y)])["accuracy"] <= 1


def test_labels_the_head_cannot_take_name_the_head_and_the_fix():
    from lrlc.train import evaluate, fit

    x = torch.randn(4, 3, 32, 32)
    two = paper_network("conv", dataset="celeba", width=4)  # 2 outputs
    with pytest.raises(ValueError, match=r"labels go from 0 to 9 but the model has 2 outputs"):
        fit(two, [(x, torch.tensor([0, 9, 3, 1]))], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"num_classes of at least 10"):
        evaluate(two, [(x, torch.tensor([0, 9, 3, 1]))])
    attributes = torch.randint(0, 2, (4, 40))
    with pytest.raises(ValueError, match=r"single-label head.*multi_label=True"):
        fit(two, [(x, attributes)], epochs=1, progress=False)
    forty = paper_network("conv", dataset="celeba", width=4, num_classes=40, multi_label=True)
    with pytest.raises(ValueError, match=r"multi-label head of 40.*targets='attributes'"):
        evaluate(forty, [(x, torch.tensor([0, 1, 1, 0]))])
    fit(forty, [(x, attributes)], epochs=1, progress=False)  # the matching pair trains


@pytest.mark.parametrize("name", ["gpu", "tpu", "CUDA"])
def test_an_unknown_device_name_lists_the_ones_to_use(name):
    from lrlc.loader import auto_device

    with pytest.raises(RuntimeError, match=f"unknown device '{name}': use 'cuda'.*'cpu'"):
        auto_device(name)


def test_numpy_input_augment_words_and_unreadable_checkpoints_name_the_fix(tmp_path):
    from lrlc.checkpoints import load_checkpoint, save_checkpoint
    from lrlc.loader import Augment, DeviceLoader, Normalization

    array = np.zeros((2, 1, 28, 28), np.float32)
    layer = LowRankLocallyConnected2d(1, 4, 3, (28, 28), rank=2)
    for module in (layer, paper_network("conv", dataset="mnist", width=4)):
        with pytest.raises(TypeError, match=r"a torch.Tensor, got numpy.ndarray.*from_numpy"):
            module(array)
    images, labels = torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.long)
    with pytest.raises(TypeError, match=r"got 'crop'.*Augment\(hflip=False\)"):
        DeviceLoader(images, labels, 2, Normalization(1 / 255, 0.0), augment="crop")
    DeviceLoader(images, labels, 2, Normalization(1 / 255, 0.0), augment=Augment(hflip=False))
    net = paper_network("conv", dataset="mnist", width=4)
    good = save_checkpoint(tmp_path / "net.pt", net)
    (tmp_path / "half.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "ten.pt").write_bytes(good.read_bytes()[:10])
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save(net, tmp_path / "whole.pt")
    for name in ("half.pt", "ten.pt", "empty.pt", "notes.txt", "whole.pt"):
        with pytest.raises(ValueError, match="not a readable checkpoint of save_checkpoint"):
            load_checkpoint(tmp_path / name)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match=r"is a folder: give a file path"):
        save_checkpoint(tmp_path / "folder", net)
    assert not (tmp_path / "folder.tmp").exists()


def test_effective_filters_of_an_input_dependent_layer_ask_for_its_input():
    layer = LowRankLocallyConnected2d(1, 4, 3, (8, 8), rank=2, input_dependent=True)
    with pytest.raises(ValueError, match=r"call effective_filters\(layer, x\)"):
        effective_filters(layer)
    assert effective_filters(layer, torch.randn(2, 1, 8, 8)).shape == (2, 6, 6, 4, 1, 3, 3)


def test_the_smaller_slips_name_their_argument():
    from lrlc import conv2d_params
    from lrlc.train import fit

    with pytest.raises(ValueError, match="kernel_size must be positive, got 0"):
        paper_network("conv", kernel_size=0)
    with pytest.raises(ValueError, match=r"kernel_size must be positive, got \(-3, -3\)"):
        conv2d_params(3, 4, -3)
    with pytest.raises(TypeError, match=r"takes a NetworkConfig, got str.*paper_network\("):
        SimpleNetwork("lrlc")
    net = paper_network("conv", dataset="mnist", width=4)
    batch = [(torch.randn(2, 1, 28, 28), torch.tensor([0, 1]))]
    with pytest.raises(ValueError, match=r"epochs must be an int >= 1, got 1.5"):
        fit(net, batch, epochs=1.5, progress=False)
