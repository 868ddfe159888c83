"""The paper's experiment network, with each layer's type chosen independently.

As the official ``models/simple_model.py`` with its default config: 3 layers of 3x3
filters, 64 channels, stride 1, 'valid' padding, each followed by BatchNorm and ReLU, then
global average pooling and a linear classifier.

A known difference from the official code: the classifier keeps ``nn.Linear``'s default
initialisation (Kaiming-uniform weights with a = sqrt(5), uniform bias), where the official
Keras ``Dense`` starts with Glorot-uniform weights and a zero bias. The stored results were
trained this way, so it stays.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from lrlc.counting import count_parameters, network_flops
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d, _he_uniform_
from lrlc.shapes import as_int, channels_last_hint, check_input, conv_output_size, pair

__all__ = [
    "LAYER_TYPES",
    "NetworkConfig",
    "SimpleNetwork",
    "build_network",
    "paper_network",
    "coordinate_channels",
    "wide_conv_width",
    "network_costs",
    "cost_table",
]

LAYER_TYPES = ("conv", "lc", "lrlc", "lrlc_input", "wide_conv")
"""The types a :class:`NetworkConfig` layer can have (CoordConv is ``coord_conv=True`` on
convolutions; :func:`paper_network` also takes ``"coordconv"``)."""
LC_INITS = ("fan_in", "keras")
#: The layers (0 first) each placement of :func:`paper_network` replaces; the others conv.
PLACEMENT_LAYERS = {"all": (0, 1, 2), "last": (2,), "first": (0,), "middle": (1,)}
DATASET_SHAPES = {  # in_channels, input_size, num_classes
    "mnist": (1, (28, 28), 10),
    "cifar10": (3, (32, 32), 10),
    "celeba": (3, (32, 32), 2),
    "trans_celeba48": (3, (48, 48), 2),
}

# PyTorch's BatchNorm momentum 0.1 is Keras' momentum 0.9 (the official MOMENTUM).
BN_MOMENTUM, BN_EPS = 0.1, 1e-5


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that defines a :class:`SimpleNetwork`; saved with checkpoints.

    layer_types: one of :data:`LAYER_TYPES` per layer.

    rank: the rank of the LRLC layers (and the width factor of ``wide_conv``).

    lc_init: ``"keras"`` (default) copies the official baseline, whose Keras
    ``LocallyConnected2D`` computes the fan-in over all positions, so its initial filters
    are ``sqrt(H_out * W_out)`` times smaller than a convolution's; ``"fan_in"``
    initialises each LC position like a convolution (He-uniform, fan-in ``in * kh * kw``,
    the default of a :class:`.LocallyConnected2d` built on its own). In this network the scale
    matters although BatchNorm follows every layer: BatchNorm makes the output blind to
    the weights' scale, so a step of SGD moves small weights further (relative to their
    size) than large ones, and each LC filter gets the gradient of one position only,
    ``H_out * W_out`` times less than a shared one. The Keras scale makes up for that;
    with ``"fan_in"`` the LC network hardly trains at the learning rates that suit the
    others (MNIST, 3,000 images, lr 0.05: training loss 2.26 after 3 epochs, against
    0.18 with ``"keras"``).

    multi_label: a sigmoid head (e.g. CelebA's 40 attributes) instead of a softmax one.

    share_combining_weights: spatial LRLC layers learn a combining logit per row and one
    per column (True, the default, as the official code) or one per position (False);
    input-dependent layers predict theirs either way.
    """

    layer_types: tuple[str, ...] = ("conv", "conv", "conv")
    rank: int | None = None
    in_channels: int = 3
    input_size: tuple[int, int] = (32, 32)
    num_classes: int = 10
    width: int = 64
    kernel_size: int = 3
    coord_conv: bool = False
    lc_init: str = "keras"
    multi_label: bool = False
    share_combining_weights: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.layer_types, str):
            raise ValueError(
                f"layer_types must be a tuple of layer types, e.g. ('lrlc',) * 3, got the "
                f"string {self.layer_types!r}"
            )
        object.__setattr__(self, "layer_types", tuple(self.layer_types))
        object.__setattr__(self, "input_size", pair(self.input_size, "input_size"))
        for name in ("in_channels", "num_classes", "width"):
            object.__setattr__(self, name, as_int(getattr(self, name), name, minimum=1))
        try:  # an int, or a pair of ints for non-square kernels
            kernel_size: int | tuple[int, int] = as_int(self.kernel_size, "kernel_size")
        except ValueError:
            kernel_size = pair(self.kernel_size, "kernel_size")
        object.__setattr__(self, "kernel_size", kernel_size)
        unknown = [t for t in self.layer_types if t not in LAYER_TYPES]
        if unknown:
            raise ValueError(
                f"unknown layer type {unknown[0]!r}: choose from {', '.join(LAYER_TYPES)} "
                "(CoordConv is conv layers with coord_conv=True)"
            )
        ranked = [t for t in self.layer_types if t in ("lrlc", "lrlc_input", "wide_conv")]
        if ranked and self.rank is None:
            raise ValueError(f"layer type {ranked[0]!r} needs a rank: pass rank=K (K >= 1)")
        if not ranked and self.rank is not None:
            raise ValueError(
                f"rank={self.rank} was given but no layer uses it (layer_types="
                f"{self.layer_types}): rank applies to lrlc, lrlc_input and wide_conv layers; "
                "drop rank or choose one of those layer types"
            )
        if self.rank is not None:
            object.__setattr__(self, "rank", as_int(self.rank, "rank", minimum=1))
        if self.lc_init not in LC_INITS:
            raise ValueError(f"lc_init must be one of {LC_INITS}, got {self.lc_init!r}")
        (kh, kw), depth = pair(self.kernel_size, "kernel_size"), len(self.layer_types)
        if kh < 1 or kw < 1:
            raise ValueError(f"kernel_size must be positive, got {self.kernel_size!r}")
        need = (depth * (kh - 1) + 1, depth * (kw - 1) + 1)  # valid padding, stride 1
        if self.input_size[0] < need[0] or self.input_size[1] < need[1]:
            raise ValueError(
                f"{depth} valid {kh}x{kw} layers need an input of at least {need[0]}x{need[1]}, "
                f"got input_size={self.input_size}: use fewer layers, a smaller kernel_size or "
                "larger inputs"
            )

    def to_dict(self) -> dict:
        """The config as a plain dict (what checkpoints store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NetworkConfig:
        """The config a :meth:`to_dict` dict describes."""
        return cls(**d)


def wide_conv_width(rank: int, in_channels: int, width: int) -> int:
    """The official width of a ``wide_conv`` layer that is not the last one.

    ``int((rank * in + width) / (in + width) * width)``: the width at which this layer and
    a ``width``-channel layer reading it have about the parameters of an LRLC layer of that
    rank plus that layer. The last layer gets ``rank * width``.
    """
    return int((rank * in_channels + width) / float(in_channels + width) * width)


def coordinate_channels(x: Tensor) -> Tensor:
    """CoordConv channels: x (batch, C, H, W) -> (batch, 2, H, W), row then column in [-1, 1]."""
    b, _, h, w = x.shape
    rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)[:, None].expand(h, w)
    cols = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)[None, :].expand(h, w)
    return torch.stack([rows, cols]).expand(b, 2, h, w)


class SimpleNetwork(nn.Module):
    """(conv | LC | LRLC | wide conv) -> BatchNorm -> ReLU per layer, global average pool, linear.

    x: (batch, in_channels, H, W) -> logits (batch, num_classes)

    Initialisation (``reset_parameters`` applies it again): every spatial layer He-uniform,
    as the official network (``nn.Conv2d``'s default is replaced; LC scaled down further
    with ``lc_init="keras"``); the classifier keeps ``nn.Linear``'s default, not the
    official Keras ``Dense`` init (Glorot-uniform weights, zero bias): a known difference,
    kept because the stored results were trained with it.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        if not isinstance(config, NetworkConfig):
            raise TypeError(
                f"SimpleNetwork takes a NetworkConfig, got {type(config).__name__} "
                f"{config!r:.40}: for the paper's network with one layer type use "
                "paper_network('lrlc', 4, dataset='cifar10')"
            )
        self.config = config
        blocks: list[nn.Module] = []
        size = config.input_size
        chin = config.in_channels + (2 if config.coord_conv else 0)
        depth = len(config.layer_types)
        for i, kind in enumerate(config.layer_types):
            layer, chout = self._make_layer(kind, chin, size, last=i == depth - 1)
            self._network_init(layer)
            blocks += [layer, nn.BatchNorm2d(chout, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU()]
            size = conv_output_size(size, config.kernel_size)
            chin = chout
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(chin, config.num_classes)

    def _make_layer(
        self, kind: str, chin: int, size: tuple[int, int], last: bool
    ) -> tuple[nn.Module, int]:
        c, k, width = self.config, self.config.kernel_size, self.config.width
        if kind in ("conv", "wide_conv"):
            chout = width
            if kind == "wide_conv":
                chout = width * c.rank if last else wide_conv_width(c.rank, chin, width)
            return nn.Conv2d(chin, chout, k, bias=False), chout
        if kind == "lc":
            return LocallyConnected2d(chin, width, k, size), width  # bias kept, as the official
        # LRLC: no per-channel bias before BatchNorm; the spatial bias stays.
        dependent = kind == "lrlc_input"
        return LowRankLocallyConnected2d(
            chin, width, k, size, c.rank, bias=False, input_dependent=dependent,
            share_combining_weights=None if dependent else c.share_combining_weights,
        ), width  # fmt: skip

    def _network_init(self, layer: nn.Module) -> None:
        """The network's own init of a freshly initialised spatial layer (shared by
        construction and ``reset_parameters``)."""
        if isinstance(layer, nn.Conv2d):
            # The official network gives every layer type the same kernel initializer
            # (He-uniform, as the LC and LRLC layers here), not PyTorch's default for
            # Conv2d, whose bound is sqrt(6) times smaller: with BatchNorm after the layer,
            # a smaller weight norm means a larger effective learning rate.
            _he_uniform_(layer.weight, layer.weight[0].numel())  # fan-in: in * kh * kw
        elif isinstance(layer, LocallyConnected2d) and self.config.lc_init == "keras":
            with torch.no_grad():
                layer.weight.mul_(1 / math.sqrt(layer.output_size[0] * layer.output_size[1]))

    def reset_parameters(self) -> None:
        """Initialise the network again as when it was built (not PyTorch's defaults):
        each layer's ``reset_parameters``, then the network's own init of the spatial
        layers. Under the same ``torch.manual_seed`` a conv, LC or spatial LRLC network
        gets the very weights it was built with."""
        for module in [*self.features, self.head]:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                self._network_init(module)

    def forward(self, x: Tensor) -> Tensor:
        """x: (batch, in_channels, H, W) -> logits (batch, num_classes)."""
        c = self.config
        if (
            isinstance(x, Tensor)
            and x.dim() == 4
            and (x.shape[1] != c.in_channels or tuple(x.shape[2:]) != c.input_size)
        ):
            raise ValueError(
                f"this network was built for inputs (batch, {c.in_channels}, "
                f"{c.input_size[0]}, {c.input_size[1]}), got {tuple(x.shape)}"
                + channels_last_hint(x, c.in_channels)
                + "; its LC/LRLC layers are tied to one input size: build it with in_channels "
                "and input_size matching the data (e.g. paper_network(dataset=...))"
            )
        # a 3-D or integer input, or one of another dtype: the same message as the layers'
        check_input(x, c.in_channels, c.input_size, "the network", self.head.weight)
        if c.coord_conv:
            x = torch.cat([x, coordinate_channels(x)], dim=1)
        return self.head(self.features(x).mean(dim=(2, 3)))


def build_network(config: NetworkConfig) -> SimpleNetwork:
    """The network a config describes (used to reload checkpoints)."""
    return SimpleNetwork(config)


def paper_network(
    layer: str = "conv",
    rank: int | None = None,
    dataset: str = "cifar10",
    where: str = "all",
    num_classes: int | None = None,
    **overrides,
) -> SimpleNetwork:
    """The paper's 3-layer network for a dataset, with ``layer`` in every layer, or only in
    the first, the middle or the last (``where``).

    layer: ``conv``, ``lc``, ``lrlc``, ``lrlc_input``, ``wide_conv`` or ``coordconv``.
    rank: the rank of ``lrlc`` and ``lrlc_input`` layers, the width factor of ``wide_conv``;
    None for the others.
    dataset: ``mnist``, ``cifar10``, ``celeba`` or ``trans_celeba48`` (the misaligned
    faces, 48x48): sets the input's channels and size and the number of classes.
    where: ``"all"`` replaces all three layers, ``"last"`` only the last, ``"first"`` only
    the first and ``"middle"`` only the second (the others conv; :data:`PLACEMENT_LAYERS`).
    num_classes: default the dataset's.
    overrides: any other :class:`NetworkConfig` field, e.g. ``width=16``, ``lc_init``,
    ``multi_label``, or ``input_size`` and ``in_channels`` for images other than the
    dataset's.
    """
    dataset = dataset.lower() if isinstance(dataset, str) else dataset
    if dataset not in DATASET_SHAPES:
        raise ValueError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASET_SHAPES)}")
    if layer not in (*LAYER_TYPES, "coordconv"):
        raise ValueError(
            f"unknown layer {layer!r}: choose from {', '.join((*LAYER_TYPES, 'coordconv'))}"
        )
    unknown = set(overrides) - {f.name for f in fields(NetworkConfig)}
    if unknown:
        raise TypeError(
            f"paper_network got unknown settings {', '.join(sorted(unknown))}: the network's "
            f"settings are {', '.join(f.name for f in fields(NetworkConfig))}"
        )
    if where not in PLACEMENT_LAYERS:
        raise ValueError(f"where must be 'all', 'last', 'first' or 'middle', got {where!r}")
    if layer in ("conv", "coordconv") and where != "all":
        raise ValueError(
            f"{layer} is the same network in every placement (its other layers would be "
            f"convolutions too): drop where={where!r}"
        )
    if layer == "coordconv" and rank is not None:
        raise ValueError(
            f"coordconv takes no rank, got rank={rank}: it is the convolutional network with "
            "two coordinate channels; drop rank (or use wide_conv, which takes one)"
        )
    fixed = {"layer_types", "coord_conv"} & set(overrides)
    if fixed:
        raise ValueError(
            f"paper_network sets {', '.join(sorted(fixed))} from its arguments (layer, where): "
            "pass those instead, or build a NetworkConfig yourself"
        )
    in_channels, input_size, classes = DATASET_SHAPES[dataset]
    kind = "conv" if layer == "coordconv" else layer
    layer_types = tuple(kind if i in PLACEMENT_LAYERS[where] else "conv" for i in range(3))
    shape = {"in_channels": in_channels, "input_size": input_size, **overrides}
    config = NetworkConfig(
        layer_types=layer_types,
        rank=rank,
        num_classes=classes if num_classes is None else num_classes,
        coord_conv=layer == "coordconv",
        **shape,
    )
    return SimpleNetwork(config)


Variant = tuple[str, int | None, str]  # (layer, rank, where), as the results files name them
CONV: Variant = ("conv", None, "all")  # the network every cost is compared with


def network_costs(dataset: str, variants: list[Variant]) -> dict[Variant, tuple[int, int]]:
    """(parameters, FLOPs per example) of the paper network of each (layer, rank, where)
    variant on ``dataset``: :func:`.count_parameters` of the built network, and the FLOPs of its
    three spatial layers (:func:`.network_flops`; BatchNorm, pooling and the classifier are
    negligible)."""
    costs = {}
    for layer, rank, where in variants:
        built = paper_network(layer, rank, dataset, where=where)
        costs[layer, rank, where] = (count_parameters(built), sum(network_flops(built).values()))
    return costs


def cost_table(dataset: str, variants: list[Variant], title: str | None = None) -> Any:
    """A Markdown table of :func:`network_costs`: parameters and MFLOPs per example of every
    variant, each also as a multiple of the convolutional network's. title: the first
    column's header (default: ``"<dataset> network"``, e.g. ``"mnist network"``)."""
    from lrlc.results import variant_name
    from lrlc.widgets import markdown_table  # IPython display objects: only when drawn

    costs = network_costs(dataset, [CONV, *variants])  # each network built once
    conv_params, conv_flops = costs[CONV]
    rows = [
        [
            variant_name(*v),
            f"{p:,}",
            f"{p / conv_params:.2f}×",
            f"{f / 1e6:.1f}",
            f"{f / conv_flops:.2f}×",
        ]
        for v in dict.fromkeys(variants)
        for p, f in [costs[v]]
    ]
    times = "×\u00a0conv"  # one line: "×" alone above "conv" in a narrow column
    header = [title or f"{dataset} network", "parameters", times, "MFLOPs per example"]
    return markdown_table([*header, times], rows)
