"""lrlc: low-rank locally connected layers (Elsayed et al., ICML 2020) in PyTorch.

from lrlc import LowRankLocallyConnected2d
layer = LowRankLocallyConnected2d(64, 64, kernel_size=3, input_size=(32, 32), rank=4)
"""

from lrlc.counting import (
    conv2d_flops,
    conv2d_params,
    count_parameters,
    lc2d_flops,
    lc2d_params,
    lrlc2d_flops,
    lrlc2d_params,
    lrlc_params_by_role,
    network_flops,
)
from lrlc.filters import effective_filters
from lrlc.layers import (
    InputDependentCombiningWeights,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
)
from lrlc.shapes import conv_output_size

__version__ = "0.1.0"

__all__ = [
    "LocallyConnected2d",
    "LowRankLocallyConnected2d",
    "InputDependentCombiningWeights",
    "effective_filters",
    "count_parameters",
    "conv2d_params",
    "lc2d_params",
    "lrlc2d_params",
    "lrlc_params_by_role",
    "conv2d_flops",
    "lc2d_flops",
    "lrlc2d_flops",
    "network_flops",
    "conv_output_size",
]
