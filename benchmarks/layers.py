"""Layer speed at the hardware limit: convolution, LC and LRLC on the CPU or a GPU.

    python benchmarks/layers.py [--device cuda|cpu] [--quick] [--out benchmarks/results]

Every layer is first checked against a float64 reference on the CPU (values and gradients,
fresh random inputs and parameters), then timed against its natural bound, in one run:

- LRLC of rank K against ``nn.Conv2d`` with ``K * out_channels`` outputs (the same
  convolution work: the ratio is the cost of combining the bases);
- LC against its roofline: its FLOPs at the matrix rate and its bytes (a filter bank per
  position) at the memory bandwidth, both measured on the same device in the same run;
- input-dependent LRLC against spatial LRLC of the same rank (the combining network's cost);
- the convolution as the baseline; and the formulations the package used before
  (``lrlc_einsum``, ``lc_unfold``) and a candidate for the GPU (``lrlc_mulsum``) beside
  the current ones.

On CUDA: float32 (true fp32, TF32 off) and bfloat16 autocast, CUDA-event timing of every
call with the launch queue pre-filled (so the figures are device time, not Python dispatch),
members of a comparison interleaved call by call, inputs rotated, backward driven by a fixed
upstream gradient through ``torch.autograd.grad`` (no loss, no gradient accumulation).
On the CPU: float32, ``time.perf_counter``, fewer repeats and a smaller batch.

Writes ``<out>/<device>.json`` (every figure, the checks, versions, commit) and
``<out>/<device>.md`` (the tables); exits with status 1 when a correctness check failed.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import reference as ref  # noqa: E402  (tests/reference.py: the float64 loop references)

from lrlc import (  # noqa: E402
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    conv2d_flops,
    lc2d_flops,
    lrlc2d_flops,
)
from lrlc.provenance import git_commit  # noqa: E402

F64 = torch.float64
CIFAR = "32x32"  # the shape of the headline figure ``lrlc_vs_kconv_fwd_bwd``
SHAPES = {  # name: (input size, what it is); 3x3 kernels, 'valid' padding, stride 1
    "32x32": ((32, 32), "CIFAR-10 input, 32x32 -> 30x30"),
    "30x30": ((30, 30), "second layer of the valid-padded stack, 30x30 -> 28x28"),
    "28x28": ((28, 28), "third layer, 28x28 -> 26x26 (also MNIST's 28x28 -> 26x26)"),
}
QUICK_SHAPES = {"16x16": ((16, 16), "smoke run only, 16x16 -> 14x14")}
MODES = ("fwd", "fwd_bwd")
VARIANTS = ("lrlc_einsum", "lrlc_mulsum", "lc_unfold")


@dataclass(frozen=True)
class Precision:
    """How a case computes: autocast dtype (or none), input dtype, TF32, check tolerances.

    ``tol`` bounds the relative error of the output and of the gradients of the input and of
    the layer's own parameters (the issue's 1e-5 in float32, 1e-2 in bfloat16). ``net_tol``
    bounds the gradients of the input-dependent combining network's parameters: stock
    ``nn.Conv2d`` layers, not a path of this package, whose gradients are sums over positions
    that nearly cancel (the softmax Jacobian removes their mean), so rounding is amplified:
    measured up to 9e-6 in float32 and 0.36 in bfloat16 autocast (the network runs in
    bfloat16 there; in float32 it would reach 1e-2) on the CPU. The bfloat16 bound catches
    only gross errors (a missing gradient has relative error 1).
    """

    name: str
    autocast: torch.dtype | None
    input_dtype: torch.dtype
    tf32: bool
    tol: float
    net_tol: float


PRECISIONS = {
    "float32": Precision("float32", None, torch.float32, False, 1e-5, 1e-4),
    "bfloat16": Precision("bfloat16", torch.bfloat16, torch.bfloat16, False, 1e-2, 0.7),
    "tf32": Precision("tf32", None, torch.float32, True, 1e-2, 0.7),  # optional, not a default
}
NET = "combining_net."  # parameters of the input-dependent combining network


# ------------------------------------------------------------------ formulations before issue 6


def lrlc_einsum(layer: LowRankLocallyConnected2d, x: Tensor) -> Tensor:
    """``LowRankLocallyConnected2d.forward`` as it was: NCHW convolution, einsum over ranks."""
    y = F.conv2d(x, layer.weight, None, layer.stride, layer.padding)
    if layer.rank > 1:
        y = y.view(x.shape[0], layer.rank, layer.out_channels, *layer.output_size)
        if layer.input_dependent:
            y = torch.einsum("bkohw,bhwk->bohw", y, layer.combining_weights(x).to(y.dtype))
        else:
            y = torch.einsum("bkohw,hwk->bohw", y, layer.combining_weights().to(y.dtype))
    bias = layer.total_bias()
    return y if bias is None else y + bias


def lrlc_mulsum(layer: LowRankLocallyConnected2d, x: Tensor) -> Tensor:
    """A candidate for the GPU, not the package's: the same channels-last convolution, then
    the sum over ranks as a broadcast multiply and a reduction instead of one batched
    (1 x K) @ (K x out) product per position (230,400 tiny matrices at batch 256, 30x30)."""
    weight = layer.weight.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(x, weight, None, layer.stride, layer.padding)
    if layer.rank > 1:
        b, _, h, w = y.shape
        bases = y.permute(0, 2, 3, 1).reshape(b, h, w, layer.rank, layer.out_channels)
        weights = layer.combining_weights(x) if layer.input_dependent else layer.combining_weights()
        mix = weights.reshape(-1, h, w, layer.rank, 1).to(bases.dtype)
        y = (bases * mix).sum(-2).permute(0, 3, 1, 2)
    bias = layer.total_bias()
    return y if bias is None else y + bias.to(y.dtype)


def lc_unfold(layer: LocallyConnected2d, x: Tensor) -> Tensor:
    """``LocallyConnected2d.forward`` as it was: ``F.unfold``, then an einsum over positions."""
    h_out, w_out = layer.output_size
    columns = F.unfold(x, layer.kernel_size, padding=layer.padding, stride=layer.stride)
    weight = layer.weight.reshape(h_out * w_out, layer.out_channels, -1)
    y = torch.einsum("bkl,lok->bol", columns, weight)
    y = y.reshape(x.shape[0], layer.out_channels, h_out, w_out)
    return y if layer.bias is None else y + layer.bias


# ------------------------------------------------------------------ float64 references


def lc_by_taps(x: Tensor, filters: Tensor, bias: Tensor | None) -> Tensor:
    """An LC layer ('valid', stride 1) as a sum over kernel taps, in the dtype of x::

        y[b, o, i, j] = sum_{u, v} sum_c filters[i, j, o, c, u, v] x[b, c, i + u, j + v] + bias

    The same definition as ``reference.locally_connected`` (one position at a time), summed
    in another order so that its gradients are affordable at the benchmark's sizes.
    filters: (H_out, W_out, out, in, kh, kw).
    """
    h_out, w_out, _, _, kh, kw = filters.shape
    y = 0
    for u in range(kh):
        for v in range(kw):
            patch = x[:, :, u : u + h_out, v : v + w_out]
            y = y + torch.einsum("bcij,ijoc->boij", patch, filters[..., u, v])
    return y if bias is None else y + bias


def lrlc_by_bases(layer: LowRankLocallyConnected2d, x: Tensor) -> Tensor:
    """LRLC by its definition as a weighted sum of K convolutions, in the dtype of x::

        y = sum_k w[..., k] * conv(x, W_k) + spatial bias + bias

    Combining weights by ``reference.softmax`` of the logits, the input-dependent ones by
    ``reference.combining_net_logits``. layer: float64, on the CPU.
    """
    h_out, w_out = layer.output_size
    bases = layer.weight.view(layer.rank, layer.out_channels, *layer.weight.shape[1:])
    if layer.rank == 1:
        combining = x.new_ones(h_out, w_out, 1)
    elif layer.input_dependent:
        combining = ref.softmax(ref.combining_net_logits(layer.combining_net, x))
    elif layer.share_combining_weights:
        combining = ref.softmax(layer.combining_row[:, None, :] + layer.combining_col[None])
    else:
        combining = ref.softmax(layer.combining_logits)
    y = 0
    for k in range(layer.rank):
        basis_out = F.conv2d(x, bases[k], None, layer.stride, layer.padding)
        y = y + combining[..., k].unsqueeze(-3) * basis_out
    if layer.spatial_bias_row is not None:
        y = y + (layer.spatial_bias_row + layer.spatial_bias_col)
    if layer.spatial_bias is not None:
        y = y + layer.spatial_bias
    if layer.bias is not None:
        y = y + layer.bias[:, None, None]
    return y


def reference_self_test() -> dict:
    """The two references above against the definitions in ``tests/reference.py``."""
    torch.manual_seed(1)
    x = torch.randn(2, 3, 7, 6, dtype=F64)
    filters = torch.randn(5, 4, 4, 3, 3, 3, dtype=F64)
    bias = torch.randn(4, 5, 4, dtype=F64)
    lc_err = (lc_by_taps(x, filters, bias) - ref.locally_connected(x, filters, bias)).abs().max()
    errors = {"lc_by_taps": lc_err.item()}
    for kw in ({}, {"input_dependent": True}):
        layer = randomize(LowRankLocallyConnected2d(3, 4, 3, (7, 6), 3, dtype=F64, **kw))
        if layer.input_dependent:
            combining = ref.softmax(ref.combining_net_logits(layer.combining_net, x))
        else:
            combining = ref.softmax(layer.combining_row[:, None] + layer.combining_col[None])
        bases = layer.weight.view(3, 4, 3, 3, 3)
        y_def = ref.locally_connected(x, ref.low_rank_filters(combining, bases), layer.total_bias())
        name = "lrlc_by_bases" + ("_input_dependent" if kw else "")
        errors[name] = (lrlc_by_bases(layer, x) - y_def).abs().max().item()
    return {"max_abs_errors": errors, "passed": all(e < 1e-10 for e in errors.values())}


# ------------------------------------------------------------------ the layers of a run


@dataclass
class Member:
    """One timed thing: a layer (or a formulation of it) at one rank."""

    name: str  # conv, kconv, lc, lc_unfold, lrlc, lrlc_einsum, lrlc_mulsum, lrlc_id
    rank: int
    make: Callable[[], nn.Module]  # float32 module on the CPU
    call: Callable[[nn.Module, Tensor], Tensor]
    flops: int  # per example, forward


def plain(module: nn.Module, x: Tensor) -> Tensor:
    """Call the module."""
    return module(x)


def members_of(
    size: tuple[int, int], channels: int, rank: int, id_ranks: list[int], variants: list[str]
) -> list[Member]:
    """The members of one comparison group: LRLC at ``rank`` and its bounds (rank 0: conv, LC)."""
    c = channels
    if rank == 0:
        out = [
            Member("conv", 1, lambda: nn.Conv2d(c, c, 3), plain, conv2d_flops(c, c, 3, size)),
            Member(
                "lc", 1, lambda: LocallyConnected2d(c, c, 3, size), plain, lc2d_flops(c, c, 3, size)
            ),
        ]
        if "lc_unfold" in variants:
            out.append(Member("lc_unfold", 1, out[1].make, lc_unfold, out[1].flops))
        return out
    k = rank
    out = [
        Member(
            "lrlc",
            k,
            lambda: LowRankLocallyConnected2d(c, c, 3, size, k),
            plain,
            lrlc2d_flops(c, c, 3, size, k),
        ),
        Member("kconv", k, lambda: nn.Conv2d(c, k * c, 3), plain, conv2d_flops(c, k * c, 3, size)),
    ]
    if k > 1 and "lrlc_einsum" in variants:
        out.append(Member("lrlc_einsum", k, out[0].make, lrlc_einsum, out[0].flops))
    if k > 1 and "lrlc_mulsum" in variants:
        out.append(Member("lrlc_mulsum", k, out[0].make, lrlc_mulsum, out[0].flops))
    if k > 1 and k in id_ranks:
        out.append(
            Member(
                "lrlc_id",
                k,
                lambda: LowRankLocallyConnected2d(c, c, 3, size, k, input_dependent=True),
                plain,
                lrlc2d_flops(c, c, 3, size, k, input_dependent=True),
            )
        )
    return out


def randomize(module: nn.Module) -> nn.Module:
    """Give the zero-initialised parameters (combining logits, biases) random values."""
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():
                p.normal_(0.0, 0.5)
    return module


@contextmanager
def precision(p: Precision) -> Iterator[None]:
    """TF32 on or off for both cuBLAS and cuDNN while inside (restored after)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = p.tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def autocast(device: torch.device, p: Precision):
    """The autocast context of a precision (a null context for float32)."""
    if p.autocast is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=p.autocast)


def rel_err(a: Tensor, b: Tensor) -> float:
    """||a - b|| / ||b|| in float64 (a plain norm of a - b when b is zero)."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


# ------------------------------------------------------------------ correctness


def check_group(
    members: list[Member],
    size: tuple[int, int],
    channels: int,
    batch: int,
    precisions: list[Precision],
    device: torch.device,
    seed: int,
    memory_format: torch.memory_format,
) -> list[dict]:
    """Check every member against a float64 reference: output and all gradients."""
    results = []
    by_layer: dict[int, tuple] = {}  # id(make) -> (module, x, g, reference output and grads)
    for i, m in enumerate(members):
        if id(m.make) not in by_layer:
            torch.manual_seed(seed + 1000 * i + m.rank)
            module = randomize(m.make())
            # Inputs and upstream gradients representable in bfloat16: one reference serves
            # every precision.
            x = torch.randn(batch, channels, *size).bfloat16().float()
            m64 = copy.deepcopy(module).double()
            x64 = x.double().requires_grad_()
            if isinstance(m64, LocallyConnected2d):
                y64 = lc_by_taps(x64, m64.weight, m64.bias)
            elif isinstance(m64, LowRankLocallyConnected2d):
                y64 = lrlc_by_bases(m64, x64)
            else:
                y64 = F.conv2d(x64, m64.weight, m64.bias)
            g = torch.randn(y64.shape).bfloat16().double()
            grads64 = torch.autograd.grad(y64, [x64, *m64.parameters()], g)
            by_layer[id(m.make)] = (module, x, g, y64.detach(), grads64)
        module, x, g, y64, grads64 = by_layer[id(m.make)]
        names = ["input", *(n for n, _ in module.named_parameters())]
        for p in precisions:
            dev = copy.deepcopy(module).to(device, memory_format=memory_format)
            xd = x.to(device, p.input_dtype).contiguous(memory_format=memory_format)
            xd.requires_grad_()
            with precision(p):
                with autocast(device, p):
                    y = m.call(dev, xd)
                grads = torch.autograd.grad(y, [xd, *dev.parameters()], g.to(device, y.dtype))
            errors = {"output": rel_err(y, y64)}
            errors.update({n: rel_err(a, b) for n, a, b in zip(names, grads, grads64, strict=True)})
            own = max(e for n, e in errors.items() if not n.startswith(NET))
            net = max((e for n, e in errors.items() if n.startswith(NET)), default=None)
            result = {
                "layer": m.name,
                "rank": m.rank,
                "dtype": p.name,
                "batch": batch,
                "max_rel_err": own,
                "tol": p.tol,
                "passed": bool(own < p.tol and (net is None or net < p.net_tol)),
                "rel_errs": errors,
            }
            if net is not None:
                result.update(max_rel_err_combining_net=net, net_tol=p.net_tol)
            results.append(result)
    return results


# ------------------------------------------------------------------ timing


def summary(ms: list[float]) -> dict:
    """Median, quartiles and minimum of a list of times in milliseconds."""
    q = statistics.quantiles(ms, n=4) if len(ms) > 1 else [ms[0]] * 3
    return {
        "median_ms": statistics.median(ms),
        "q1_ms": q[0],
        "q3_ms": q[2],
        "min_ms": min(ms),
        "n": len(ms),
    }


class CudaSleeper:
    """Holds the GPU busy for a given time (``torch.cuda._sleep``), so the host can queue work."""

    def __init__(self) -> None:
        self.ok = hasattr(torch.cuda, "_sleep")
        self.cycles_per_ms = 1e6
        if self.ok:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda._sleep(1000)
            start.record()
            torch.cuda._sleep(20_000_000)
            end.record()
            torch.cuda.synchronize()
            self.cycles_per_ms = 20_000_000 / start.elapsed_time(end)

    def __call__(self, ms: float) -> None:
        if self.ok:
            torch.cuda._sleep(int(ms * self.cycles_per_ms))


def time_group(
    steps: dict[str, Callable[[int], None]],
    n_inputs: int,
    warmup: int,
    repeats: int,
    device: torch.device,
    sleeper: CudaSleeper | None,
) -> dict:
    """Time the steps interleaved (one call of each per round), rotating the inputs.

    Returns name -> summary. CPU: wall time (``time.perf_counter``), and the process's CPU
    time of the call (``process_cpu_ms``, all threads). CUDA: each call between two CUDA
    events, every round queued
    behind a GPU sleep longer than the host needs to queue the round, so the figures are
    device time; ``host_ms`` is the host's dispatch time of a call; ``starved_rounds``
    counts rounds the host took longer to queue than the sleep lasted.
    """
    names = list(steps)
    counter = 0

    def next_input() -> int:
        nonlocal counter
        counter += 1
        return (counter - 1) % n_inputs

    cuda = device.type == "cuda"
    round_host_ms = 0.0
    for _ in range(warmup):
        t0 = time.perf_counter()
        for n in names:
            steps[n](next_input())
        round_host_ms = (time.perf_counter() - t0) * 1e3
        if cuda:
            torch.cuda.synchronize()
    dev_ms: dict[str, list[float]] = {n: [] for n in names}
    host_ms: dict[str, list[float]] = {n: [] for n in names}
    starved = 0
    for _ in range(repeats):
        if cuda:
            prefill = 1.5 * round_host_ms + 1.0
            sleeper(prefill)
            events = []
            total = 0.0
            for n in names:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                t0 = time.perf_counter()
                start.record()
                steps[n](next_input())
                end.record()
                dt = (time.perf_counter() - t0) * 1e3
                host_ms[n].append(dt)
                total += dt
                events.append((n, start, end))
            torch.cuda.synchronize()
            for n, start, end in events:
                dev_ms[n].append(start.elapsed_time(end))
            starved += total > prefill or not sleeper.ok
            round_host_ms = total
        else:
            for n in names:
                c0, t0 = time.process_time(), time.perf_counter()
                steps[n](next_input())
                dev_ms[n].append((time.perf_counter() - t0) * 1e3)
                host_ms[n].append((time.process_time() - c0) * 1e3)
    out = {}
    for n in names:
        out[n] = summary(dev_ms[n])
        if not cuda:  # CPU time of all threads: robust to other processes sharing the cores
            out[n]["process_cpu_ms"] = statistics.median(host_ms[n])
        if cuda:
            out[n]["host_ms"] = statistics.median(host_ms[n])
            out[n]["starved_rounds"] = starved
    return out


def make_step(
    module: nn.Module,
    call: Callable[[nn.Module, Tensor], Tensor],
    xs: list[Tensor],
    mode: str,
    p: Precision,
    device: torch.device,
) -> Callable[[int], None]:
    """One call of the layer on input ``xs[i]``: forward (no grad) or forward + backward.

    Backward: ``torch.autograd.grad`` of the output against a fixed random upstream
    gradient, for the input and every parameter (as inside a network, nothing accumulated).
    """
    params = list(module.parameters())
    if mode == "fwd":

        def step(i: int) -> None:
            with torch.no_grad(), autocast(device, p):
                call(module, xs[i])

        return step
    with autocast(device, p):
        y = call(module, xs[0])
    g = torch.randn_like(y)
    del y

    def step(i: int) -> None:
        with autocast(device, p):
            y = call(module, xs[i])
        torch.autograd.grad(y, [xs[i], *params], g)

    return step


def step_memory(step: Callable[[int], None]) -> int:
    """Bytes allocated beyond what was there before, at the peak of one call (CUDA)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step(0)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def measure_machine(
    device: torch.device, precisions: list[Precision], sleeper: CudaSleeper | None
) -> dict:
    """The roofline's two rates: a large matmul per precision, a large device copy."""
    cuda = device.type == "cuda"
    n = 8192 if cuda else 2048
    rates = {}
    for p in precisions:
        dtype = p.autocast or torch.float32
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        with precision(p):
            mm = {"mm": lambda i, a=a, b=b: torch.mm(a, b)}
            t = time_group(mm, 1, 3, 10 if cuda else 3, device, sleeper)["mm"]
        rates[p.name] = {
            "tflops": 2 * n**3 / (t["median_ms"] * 1e-3) / 1e12,
            "n": n,
            "dtype": str(dtype).removeprefix("torch."),
        }
        del a, b
    numel = 2**28 if cuda else 2**25  # 1 GiB or 128 MiB of float32
    src = torch.randn(numel, device=device)
    dst = torch.empty_like(src)
    t = time_group({"copy": lambda i: dst.copy_(src)}, 1, 3, 20 if cuda else 5, device, sleeper)
    gbs = 2 * src.numel() * 4 / (t["copy"]["median_ms"] * 1e-3) / 1e9
    return {
        "matmul": rates,
        "copy_bandwidth_gbs": gbs,
        "copy_bytes": src.numel() * 4,
        "note": "matmul: n x n @ n x n, 2 n^3 FLOPs; bandwidth: a copy reads and writes its size",
    }


def lc_roofline(
    size: tuple[int, int], channels: int, batch: int, p: Precision, mode: str, machine: dict
) -> dict:
    """The LC bound: max(FLOPs / matrix rate, bytes / bandwidth).

    Bytes: the filter bank of every position (float32 parameters, read once; in the
    backward read again, and its gradient written), the input and the output (in the
    compute dtype). Forward: W + X + Y; forward + backward: 3 W + 3 X + 2 Y.
    """
    (h, w), c = size, channels
    h_out, w_out = h - 2, w - 2
    act = 2 if p.autocast == torch.bfloat16 else 4
    weight = (h_out * w_out * c * c * 9 + c * h_out * w_out) * 4
    x_bytes, y_bytes = batch * c * h * w * act, batch * c * h_out * w_out * act
    flops = lc2d_flops(c, c, 3, size) * batch
    if mode == "fwd":
        nbytes = weight + x_bytes + y_bytes
    else:
        flops, nbytes = 3 * flops, 3 * weight + 3 * x_bytes + 2 * y_bytes
    compute_ms = flops / (machine["matmul"][p.name]["tflops"] * 1e12) * 1e3
    memory_ms = nbytes / (machine["copy_bandwidth_gbs"] * 1e9) * 1e3
    return {
        "flops": flops,
        "bytes": nbytes,
        "compute_ms": compute_ms,
        "memory_ms": memory_ms,
        "bound_ms": max(compute_ms, memory_ms),
    }


# ------------------------------------------------------------------ the run


def git_info() -> dict:
    """Commit and dirty flag of the checkout (``lrlc.provenance.git_commit``)."""
    commit = git_commit()
    return {"commit": commit.removesuffix("-dirty"), "dirty": commit.endswith("-dirty")}


def environment(device: torch.device) -> dict:
    """Device, versions and settings."""
    cpu_model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    env = {
        "device": {"type": device.type, "name": cpu_model},
        "host": {
            "platform": platform.platform(),
            "cpu": cpu_model,
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
        },
    }
    if device.type == "cuda":
        prop = torch.cuda.get_device_properties(device)
        env["device"] = {
            "type": "cuda",
            "name": prop.name,
            "capability": f"{prop.major}.{prop.minor}",
            "multiprocessors": prop.multi_processor_count,
            "memory_gib": prop.total_memory / 2**30,
        }
        try:
            env["versions"]["driver"] = (
                subprocess.run(
                    ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=30,
                )
                .stdout.strip()
                .splitlines()[0]
            )
        except (OSError, subprocess.SubprocessError, IndexError):
            env["versions"]["driver"] = None
        env["settings"] = {
            "cudnn_benchmark": "off for the checks (cuDNN's default heuristics), on for the timing"
        }
    return env


def slug(name: str) -> str:
    """A file name for a device name: 'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; the defaults depend on the device (see --help)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--device",
        choices=["cuda", "cpu"],
        default=None,
        help="default: cuda when available, else cpu",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one 16x16 shape, 16 channels, ranks 1, 2, 4 (numbers mean nothing)",
    )
    ap.add_argument("--check-only", action="store_true", help="run the correctness checks only")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--name", default=None, help="file name stem (default: cpu, or the GPU's name)")
    ap.add_argument("--batch", type=int, default=None, help="default: 256 on cuda, 32 on cpu")
    ap.add_argument("--ranks", default="1,2,4,8,16,32")
    ap.add_argument(
        "--id-ranks",
        default=None,
        help="ranks of input-dependent LRLC (default: 2..32 on cuda, 4 on cpu)",
    )
    ap.add_argument("--shapes", default=None, help=f"comma list of {', '.join(SHAPES)}")
    ap.add_argument(
        "--dtypes",
        default=None,
        help="comma list of float32, bfloat16, tf32 (default: float32,bfloat16 on "
        "cuda, float32 on cpu)",
    )
    ap.add_argument(
        "--variants",
        default=None,
        help=f"other formulations to time beside the layers, of {VARIANTS} ('' for none)",
    )
    ap.add_argument(
        "--channels-last",
        action="store_true",
        help="inputs and modules in channels-last layout (default NCHW)",
    )
    ap.add_argument("--repeats", type=int, default=None, help="default: 50 on cuda, 11 on cpu")
    ap.add_argument("--warmup", type=int, default=None, help="default: 10 on cuda, 1 on cpu")
    ap.add_argument("--inputs", type=int, default=4, help="input sets rotated through")
    ap.add_argument("--check-batch", type=int, default=None, help="default: 4 on cuda, 2 on cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (cpu)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is available")
    args.channels = 16 if args.quick else 64
    shapes = QUICK_SHAPES if args.quick else SHAPES
    names = args.shapes.split(",") if args.shapes else list(shapes)
    args.shapes = {n: {**SHAPES, **QUICK_SHAPES}[n] for n in names}
    args.ranks = [int(r) for r in args.ranks.split(",")] if not args.quick else [1, 2, 4]
    if args.id_ranks is None:
        args.id_ranks = "2" if args.quick else ("2,4,8,16,32" if cuda else "4")
    args.id_ranks = [int(r) for r in args.id_ranks.split(",") if r]
    dtypes = args.dtypes or ("float32,bfloat16" if cuda else "float32")
    args.precisions = [PRECISIONS[d] for d in dtypes.split(",")]
    if args.variants is None:  # lc_unfold's backward takes ~30 s a call on a 2-core CPU
        args.variants = ",".join(VARIANTS) if cuda else "lrlc_einsum"
    args.variants = [v for v in args.variants.split(",") if v]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variants {sorted(unknown)}; known: {VARIANTS}")
    defaults = (256, 50, 10, 4) if cuda else (32, 11, 1, 2)
    if args.quick:
        defaults = (32, 3, 1, 2) if cuda else (4, 2, 1, 2)
    args.batch = args.batch or defaults[0]
    args.repeats = args.repeats or defaults[1]
    args.warmup = args.warmup if args.warmup is not None else defaults[2]
    args.check_batch = args.check_batch or defaults[3]
    args.memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    return args


def run(args: argparse.Namespace) -> dict:
    """Check, then time, every case; return the whole record."""
    device = torch.device(args.device)
    torch.set_num_threads(args.threads or torch.get_num_threads())  # recorded in host
    cuda = device.type == "cuda"
    record = {
        "schema": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **environment(device),
        "git": git_info(),
        "config": {
            "batch": args.batch,
            "channels": args.channels,
            "kernel_size": 3,
            "padding": "valid",
            "shapes": {n: {"input": list(s), "note": note} for n, (s, note) in args.shapes.items()},
            "ranks": args.ranks,
            "input_dependent_ranks": args.id_ranks,
            "dtypes": [p.name for p in args.precisions],
            "variants": args.variants,
            "memory_format": "channels_last" if args.channels_last else "nchw",
            "repeats": args.repeats,
            "warmup": args.warmup,
            "input_sets": args.inputs,
            "check_batch": args.check_batch,
            "seed": args.seed,
            "quick": args.quick,
            "timing": (
                "CUDA events around every call, launch queue pre-filled by a GPU sleep; "
                "median over rounds, members of a group interleaved call by call"
                if cuda
                else "time.perf_counter around every call; median over rounds, "
                "members of a group interleaved call by call"
            ),
            "backward": "torch.autograd.grad(y, [x, *params], g), g fixed random of y's shape",
            "precisions": {
                p.name: {
                    "autocast": str(p.autocast),
                    "input_dtype": str(p.input_dtype),
                    "tf32": p.tf32,
                    "check_tol": p.tol,
                    "check_tol_combining_net_grads": p.net_tol,
                }
                for p in args.precisions
            },
        },
    }
    print(
        f"device: {record['device']['name']}; batch {args.batch}; "
        f"threads {torch.get_num_threads()}; commit {record['git'].get('commit')}",
        flush=True,
    )

    # -- correctness first
    self_test = reference_self_test()
    if not self_test["passed"]:
        print(f"!!! REFERENCE SELF-TEST FAILED: {self_test}", file=sys.stderr, flush=True)
    checks = []
    t0 = time.perf_counter()
    for shape, (size, _) in args.shapes.items():
        for rank in [0, *args.ranks]:
            group = members_of(size, args.channels, rank, args.id_ranks, args.variants)
            for c in check_group(
                group,
                size,
                args.channels,
                args.check_batch,
                args.precisions,
                device,
                args.seed,
                args.memory_format,
            ):
                checks.append({"shape": shape, **c})
                if not c["passed"]:
                    print(
                        f"!!! CHECK FAILED: {shape} {c['layer']} rank {c['rank']} {c['dtype']}:"
                        f" max rel err {c['max_rel_err']:.2e} (tol {c['tol']:.0e}), combining"
                        f" network {c.get('max_rel_err_combining_net')} (tol {c.get('net_tol')});"
                        f"{c['rel_errs']}",
                        file=sys.stderr,
                        flush=True,
                    )
    passed = self_test["passed"] and all(c["passed"] for c in checks)
    worst = {
        p.name: max((c["max_rel_err"] for c in checks if c["dtype"] == p.name), default=0)
        for p in args.precisions
    }
    worst_net = {
        p.name: max(
            (c.get("max_rel_err_combining_net", 0) for c in checks if c["dtype"] == p.name),
            default=0,
        )
        for p in args.precisions
    }
    record["correctness"] = {
        "all_passed": passed,
        "reference": "float64 on the CPU: LC by kernel taps, LRLC as a weighted sum of K "
        "convolutions, combining weights by tests/reference.py (self-tested against its "
        "per-position definitions); relative error ||a - ref|| / ||ref|| of the output and "
        "of the gradient of the input and of every parameter; tolerances in "
        "config.precisions (the combining network's parameters have their own, see "
        "Precision in benchmarks/layers.py)",
        "reference_self_test": self_test,
        "worst_rel_err": worst,
        "worst_rel_err_combining_net_grads": worst_net,
        "n_checks": len(checks),
        "checks": checks,
    }
    print(
        f"correctness: {len(checks)} checks, {'all passed' if passed else 'FAILED'}, worst "
        f"{ {k: f'{v:.1e}' for k, v in worst.items()} } ({time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    if not passed:
        print(
            "!" * 72 + "\n!!! CORRECTNESS CHECK FAILED: see the lines above; the timings "
            "below are of wrong code\n" + "!" * 72,
            file=sys.stderr,
            flush=True,
        )
    if args.check_only:
        return record

    # -- timing
    if cuda:
        torch.backends.cudnn.benchmark = True  # autotuned convolutions, as in training
    sleeper = CudaSleeper() if cuda else None
    record["machine"] = measure_machine(device, args.precisions, sleeper)
    print(f"machine: {json.dumps(record['machine'])}", flush=True)
    results = []
    t0 = time.perf_counter()
    for shape, (size, _) in args.shapes.items():
        for p in args.precisions:
            xs = [
                torch.randn(args.batch, args.channels, *size, device=device, dtype=p.input_dtype)
                .contiguous(memory_format=args.memory_format)
                .requires_grad_()
                for _ in range(args.inputs)
            ]
            for rank in [0, *args.ranks]:
                group = members_of(size, args.channels, rank, args.id_ranks, args.variants)
                modules = {
                    m.name: m.make().to(device, memory_format=args.memory_format) for m in group
                }
                for mode in MODES:
                    with precision(p):
                        steps = {
                            m.name: make_step(modules[m.name], m.call, xs, mode, p, device)
                            for m in group
                        }
                        times = time_group(
                            steps, args.inputs, args.warmup, args.repeats, device, sleeper
                        )
                        for m in group:
                            r = {
                                "shape": shape,
                                "dtype": p.name,
                                "mode": mode,
                                "layer": m.name,
                                "rank": m.rank,
                                **times[m.name],
                            }
                            flops = m.flops * args.batch * (1 if mode == "fwd" else 3)
                            r["gflop"] = flops / 1e9
                            r["tflops"] = flops / (r["median_ms"] * 1e-3) / 1e12
                            if cuda:
                                r["mem_step_mib"] = step_memory(steps[m.name]) / 2**20
                                r["mem_params_mib"] = (
                                    sum(
                                        q.numel() * q.element_size()
                                        for q in modules[m.name].parameters()
                                    )
                                    / 2**20
                                )
                            results.append(r)
                    line = "  ".join(f"{m.name} {times[m.name]['median_ms']:.3g}" for m in group)
                    print(f"{shape} {p.name} {mode} rank {rank or '-'}: {line} ms", flush=True)
                del modules, steps
            del xs
    record["results"] = results
    record["timing_seconds"] = time.perf_counter() - t0
    derive(record, args)
    return record


def derive(record: dict, args: argparse.Namespace) -> None:
    """Ratios and goals from the raw results, added to the record."""
    med = {
        (r["shape"], r["dtype"], r["mode"], r["layer"], r["rank"]): r["median_ms"]
        for r in record["results"]
    }
    mins = {
        (r["shape"], r["dtype"], r["mode"], r["layer"], r["rank"]): r["min_ms"]
        for r in record["results"]
    }
    ratios: dict = {
        "lrlc_vs_kconv": {},
        "lrlc_vs_kconv_of_minima": {},
        "lrlc_einsum_vs_kconv": {},
        "lrlc_mulsum_vs_kconv": {},
        "lrlc_id_overhead": {},
        "lc_vs_roofline": {},
        "lc_vs_conv": {},
        "lc_unfold_vs_roofline": {},
    }
    for shape, (size, _) in args.shapes.items():
        for p in args.precisions:
            for mode in MODES:
                key = (shape, p.name, mode)

                def put(table: str, rank: int, value: float, key: tuple = key) -> None:
                    ratios[table].setdefault(key[0], {}).setdefault(key[1], {}).setdefault(
                        key[2], {}
                    )[str(rank)] = value

                for k in args.ranks:
                    kconv = med.get((*key, "kconv", k))
                    for name, table in (
                        ("lrlc", "lrlc_vs_kconv"),
                        ("lrlc_einsum", "lrlc_einsum_vs_kconv"),
                        ("lrlc_mulsum", "lrlc_mulsum_vs_kconv"),
                    ):
                        if (*key, name, k) in med:
                            put(table, k, med[(*key, name, k)] / kconv)
                    put(
                        "lrlc_vs_kconv_of_minima",
                        k,
                        mins[(*key, "lrlc", k)] / mins[(*key, "kconv", k)],
                    )
                    if (*key, "lrlc_id", k) in med:
                        put(
                            "lrlc_id_overhead",
                            k,
                            med[(*key, "lrlc_id", k)] / med[(*key, "lrlc", k)] - 1,
                        )
                bound = lc_roofline(size, args.channels, args.batch, p, mode, record["machine"])
                lc = med[(*key, "lc", 1)]
                entry = {**bound, "measured_ms": lc, "ratio": lc / bound["bound_ms"]}
                ratios["lc_vs_roofline"].setdefault(shape, {}).setdefault(p.name, {})[mode] = entry
                ratios["lc_vs_conv"].setdefault(shape, {}).setdefault(p.name, {})[mode] = (
                    lc / med[(*key, "conv", 1)]
                )
                if (*key, "lc_unfold", 1) in med:
                    ratios["lc_unfold_vs_roofline"].setdefault(shape, {}).setdefault(p.name, {})[
                        mode
                    ] = med[(*key, "lc_unfold", 1)] / bound["bound_ms"]
    record["ratios"] = ratios
    cuda = record["device"]["type"] == "cuda"
    head_dtype = (
        "bfloat16" if "bfloat16" in [p.name for p in args.precisions] else args.precisions[0].name
    )
    head_shape = CIFAR if CIFAR in args.shapes else next(iter(args.shapes))
    record["lrlc_vs_kconv_fwd_bwd"] = ratios["lrlc_vs_kconv"][head_shape][head_dtype]["fwd_bwd"]
    record["lrlc_vs_kconv_fwd_bwd_dtype"] = head_dtype
    record["lrlc_vs_kconv_fwd_bwd_shape"] = head_shape
    record["lrlc_vs_kconv_fwd_bwd_batch"] = args.batch
    record["goals"] = goals(record, args, cuda)


def goals(record: dict, args: argparse.Namespace, cuda: bool) -> list[dict]:
    """The issue's targets, evaluated on this run (informative: never an exit status)."""
    ratios, out = record["ratios"], []
    high = [str(k) for k in args.ranks if k >= 2]
    dtypes = [p.name for p in args.precisions]
    for shape in args.shapes:
        for dtype in dtypes:
            for mode in MODES:
                table = ratios["lrlc_vs_kconv"][shape][dtype][mode]
                worst = max((table[k] for k in high), default=float("nan"))
                target = 1.2 if cuda else 1.5
                gated = (mode == "fwd_bwd" and dtype == "bfloat16") if cuda else True
                out.append(
                    {
                        "goal": f"LRLC / K*out conv, ranks 2..32 ({mode})",
                        "shape": shape,
                        "dtype": dtype,
                        "target": f"<= {target}",
                        "measured": worst,
                        "passed": bool(worst <= target),
                        "stated_in_issue": gated,
                    }
                )
            for mode in MODES:
                lc = ratios["lc_vs_roofline"][shape][dtype][mode]["ratio"]
                out.append(
                    {
                        "goal": f"LC / roofline ({mode})",
                        "shape": shape,
                        "dtype": dtype,
                        "target": "<= 2",
                        "measured": lc,
                        "passed": bool(lc <= 2),
                        "stated_in_issue": cuda,
                    }
                )
            over = ratios["lrlc_id_overhead"].get(shape, {}).get(dtype, {}).get("fwd_bwd", {})
            if "4" in over:
                out.append(
                    {
                        "goal": "input-dependent LRLC overhead over spatial LRLC, rank 4 (fwd_bwd)",
                        "shape": shape,
                        "dtype": dtype,
                        "target": "<= 0.3",
                        "measured": over["4"],
                        "passed": bool(over["4"] <= 0.3),
                        "stated_in_issue": cuda,
                    }
                )
    if cuda:
        for r in record["results"]:
            if r["layer"] == "lc" and r["shape"] == CIFAR and r["mode"] == "fwd_bwd":
                gib = (r["mem_step_mib"] + r["mem_params_mib"]) / 1024
                out.append(
                    {
                        "goal": f"LC memory, batch {args.batch}, fwd_bwd (step peak + parameters)",
                        "shape": CIFAR,
                        "dtype": r["dtype"],
                        "target": "< 4 GiB",
                        "measured": gib,
                        "passed": bool(gib < 4),
                        "stated_in_issue": True,
                    }
                )
    return out


# ------------------------------------------------------------------ reporting


def tables(record: dict) -> str:
    """Markdown tables of the ratios (and the checks' verdict)."""
    cfg, ratios = record["config"], record.get("ratios")
    lines = [
        f"**{record['device']['name']}**, batch {cfg['batch']}, {cfg['channels']} -> "
        f"{cfg['channels']} channels, 3x3 valid, torch {record['versions']['torch']}, "
        f"{record['host']['torch_threads']} threads, commit "
        f"{(record['git'].get('commit') or '?')[:10]}"
        f"{' (dirty)' if record['git'].get('dirty') else ''}, {record['date']}",
        "",
        f"Correctness: {record['correctness']['n_checks']} checks against float64, "
        f"{'all passed' if record['correctness']['all_passed'] else '**FAILED**'}; worst "
        "relative error "
        + ", ".join(f"{k} {v:.1e}" for k, v in record["correctness"]["worst_rel_err"].items())
        + " (gradients of the input-dependent combining network's parameters: "
        + ", ".join(
            f"{k} {v:.1e}"
            for k, v in record["correctness"]["worst_rel_err_combining_net_grads"].items()
        )
        + ")",
        "",
    ]
    cpu = record["device"]["type"] == "cpu"
    if not ratios:
        return "\n".join(lines)
    ranks = [str(k) for k in cfg["ranks"]]
    for shape in cfg["shapes"]:
        for dtype in cfg["dtypes"]:
            lines += [
                f"*{shape} ({cfg['shapes'][shape]['note']}), {dtype}*",
                "",
                "| | " + " | ".join(f"K={k}" for k in ranks) + " |",
                "|---|" + "---:|" * len(ranks),
            ]
            rows = [
                ("LRLC / K*out conv, fwd", "lrlc_vs_kconv", "fwd"),
                ("LRLC / K*out conv, fwd+bwd", "lrlc_vs_kconv", "fwd_bwd"),
                ("the same, ratio of the fastest calls", "lrlc_vs_kconv_of_minima", "fwd_bwd"),
                ("einsum LRLC (before) / K*out conv, fwd", "lrlc_einsum_vs_kconv", "fwd"),
                ("einsum LRLC (before) / K*out conv, fwd+bwd", "lrlc_einsum_vs_kconv", "fwd_bwd"),
                ("multiply-sum LRLC / K*out conv, fwd", "lrlc_mulsum_vs_kconv", "fwd"),
                ("multiply-sum LRLC / K*out conv, fwd+bwd", "lrlc_mulsum_vs_kconv", "fwd_bwd"),
                ("input-dependent / spatial LRLC - 1, fwd", "lrlc_id_overhead", "fwd"),
                ("input-dependent / spatial LRLC - 1, fwd+bwd", "lrlc_id_overhead", "fwd_bwd"),
            ]
            if not cpu:
                rows.pop(2)
            for label, table, mode in rows:
                row = ratios[table].get(shape, {}).get(dtype, {}).get(mode)
                if row:
                    cells = [f"{row[k]:.2f}" if k in row else "" for k in ranks]
                    lines.append(f"| {label} | " + " | ".join(cells) + " |")
            lines.append("")
            lc = ratios["lc_vs_roofline"][shape][dtype]
            unf = ratios["lc_unfold_vs_roofline"].get(shape, {}).get(dtype, {})
            conv = ratios["lc_vs_conv"][shape][dtype]
            mem = {
                r["mode"]: (r["mem_step_mib"] + r["mem_params_mib"]) / 1024
                for r in record["results"]
                if (r["layer"], r["shape"], r["dtype"]) == ("lc", shape, dtype)
                and "mem_step_mib" in r
            }
            for mode in MODES:
                e = lc[mode]
                lines.append(
                    f"LC {mode}: {e['measured_ms']:.3g} ms = **{e['ratio']:.2f}x** its "
                    f"roofline ({e['bound_ms']:.3g} ms; {conv[mode]:.1f}x the conv)"
                    + (f"; before (unfold + einsum): {unf[mode]:.2f}x" if mode in unf else "")
                    + (f"; memory {mem[mode]:.2f} GiB" if mode in mem else "")
                    + "  "
                )
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, write the JSON and the tables, print the tables; 1 if a check failed."""
    args = parse_args(argv)
    record = run(args)
    if args.check_only:
        print(tables(record))
        return 0 if record["correctness"]["all_passed"] else 1
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.name or ("cpu" if args.device == "cpu" else slug(record["device"]["name"]))
    if args.quick:
        name += "-quick"
    (args.out / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    text = tables(record)
    (args.out / f"{name}.md").write_text(text + "\n")
    print("\n" + text)
    print(f"wrote {args.out / (name + '.json')} and {name}.md")
    if not record["correctness"]["all_passed"]:
        print("!!! CORRECTNESS CHECK FAILED (see correctness.checks in the JSON)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
