"""Training and evaluation on GPU-resident batches: ``fit``, ``evaluate``, ``auto_device``.

The loaders are any iterables of ``(x, y)`` batches with ``len()`` (``lrlc.data``'s device
loaders, or a ``torch.utils.data.DataLoader``); batches already on the device are used as
they are. Per-batch Python work is kept to the optimizer step: losses and correct counts
are summed on the device and read back a few times per epoch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from lrlc.data import ImageDataset
from lrlc.loader import DeviceLoader, auto_device
from lrlc.shapes import as_int

__all__ = ["auto_device", "fit", "evaluate", "History", "set_seed"]

Loader = Iterable[tuple[Tensor, Tensor]]


def set_seed(seed: int) -> None:
    """Seed PyTorch's generators (CPU and every GPU)."""
    torch.manual_seed(seed)


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run (accuracies in [0, 1], None where not measured).

    Every list has one entry per epoch; ``epochs`` is their length and ``to_dict()`` the
    lists as a dict.

    Attributes:
        train_loss: the mean loss per training example; with a multi-label head the binary
            cross-entropy summed over the labels (not averaged).
        train_accuracy: on the training batches during the epoch (in training mode); with
            a multi-label head the mean over examples and labels.
        valid_accuracy: after the epoch, on ``valid``.
        test_accuracy: after the epoch, on ``test``.
        seconds: the wall-clock time of the epoch's training, evaluation excluded.
        images_per_second: training images per second in the epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_accuracy: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """How many epochs were trained."""
        return len(self.train_loss)

    def to_dict(self) -> dict:
        """The records as a plain dict of lists (JSON-ready)."""
        return asdict(self)


def _use_amp(device: torch.device, amp: bool | None) -> bool:
    """bf16 autocast: on by default on CUDA GPUs that support it, off elsewhere."""
    if amp is None:
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    return amp


def _loss_and_correct(logits: Tensor, y: Tensor, multi_label: bool) -> tuple[Tensor, Tensor, int]:
    """Summed loss, summed correct predictions and the number of predictions, on the device.

    logits: (B, classes) with y: (B,) int64, or (B, labels) with y: (B, labels) in {0, 1};
    multi-label binary cross-entropy is summed over examples and labels.
    """
    logits = logits.float()
    if multi_label:
        loss = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="sum")
        correct = ((logits > 0) == (y > 0.5)).sum()
        return loss, correct, y.numel()
    loss = F.cross_entropy(logits, y, reduction="sum")
    return loss, (logits.argmax(dim=1) == y).sum(), y.shape[0]


def _check_loader(loader: object, name: str) -> None:
    """A split, tensors or a dataset passed where batches belong get the fix, not an error
    from deep inside the loop."""
    if isinstance(loader, ImageDataset):
        raise TypeError(
            f"{name} must yield (x, y) batches, got the {loader.name} {loader.split!r} split "
            f"itself: pass its loader, e.g. {name}.loader(64, shuffle=True) for training or "
            f"{name}.loader(512) for evaluation"
        )
    if isinstance(loader, Tensor) or (
        isinstance(loader, tuple) and any(isinstance(t, Tensor) for t in loader)
    ):
        raise TypeError(
            f"{name} must be an iterable of (x, y) batches, got "
            f"{'a tensor' if isinstance(loader, Tensor) else 'a tuple of tensors'}: pass "
            "[(x, y)] for one batch, or DataLoader(TensorDataset(x, y), batch_size=64, "
            "shuffle=True) (from torch.utils.data)"
        )
    if isinstance(loader, Dataset) and not isinstance(loader, DataLoader):
        raise TypeError(
            f"{name} must yield batches, got a dataset of single examples "
            f"({type(loader).__name__}): wrap it, DataLoader({name}, batch_size=64, "
            "shuffle=True) (from torch.utils.data)"
        )


def _check_targets(logits: Tensor, y: Tensor, multi_label: bool) -> None:
    """The first batch's targets against the model's head: a clear error instead of one from
    inside the loss (or a device-side assert on a GPU). Costs one synchronisation."""
    if multi_label:
        if y.shape != logits.shape:
            raise ValueError(
                f"the model has a multi-label head of {logits.shape[1]} outputs but the loader "
                f"yields targets of shape {tuple(y.shape)} for {y.shape[0]} examples: for "
                "CelebA's attributes use loader(..., targets='attributes'), or build a "
                "single-label model (multi_label=False)"
            )
        return
    if y.dim() != 1:
        raise ValueError(
            f"the model has a single-label head of {logits.shape[1]} classes but the loader "
            f"yields targets of shape {tuple(y.shape)}: for CelebA's 40 attributes build "
            "the model with paper_network(..., num_classes=40, multi_label=True), or use "
            "loader(..., targets='labels')"
        )
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= logits.shape[1]:
        raise ValueError(
            f"the labels go from {low} to {high} but the model has {logits.shape[1]} "
            "outputs: build it for this data, e.g. paper_network(..., dataset=<the data's "
            f"name>), or with num_classes of at least {high + 1}"
        )


def _to_device(x: Tensor, y: Tensor, device: torch.device, channels_last: bool):
    x = x.to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Loader,
    device: str | torch.device | None = None,
    multi_label: bool | None = None,
    amp: bool | None = None,
) -> dict[str, float]:
    """Loss and accuracy of ``model`` over ``loader`` in one pass.

    Returns ``{"loss", "accuracy"}``, the loss a mean per example; with a multi-label head
    (e.g. CelebA's 40 attributes) the loss is the binary cross-entropy summed over the
    labels (as :func:`fit` trains), the accuracy the mean over all attributes, and
    ``"per_label"`` lists each one's.

    device: default the device of the model's parameters. multi_label: default
    ``model.config.multi_label``. amp: bf16 autocast; default on for CUDA GPUs that support
    bf16 (as :func:`fit`), off elsewhere. The model's train or eval mode is restored
    afterwards.
    """
    _check_loader(loader, "loader")
    device = auto_device(device) if device is not None else next(model.parameters()).device
    multi_label = _multi_label(model, multi_label)
    use_amp = _use_amp(device, amp)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=device)
    hits = None  # correct predictions: a scalar, or one count per label
    count = 0
    for x, y in loader:
        x, y = _to_device(x, y, device, False)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(x)
        if count == 0:
            _check_targets(logits, y, multi_label)
        loss, correct, _ = _loss_and_correct(logits, y, multi_label)
        if multi_label:
            correct = ((logits.float() > 0) == (y > 0.5)).sum(0)
        loss_sum += loss
        hits = correct if hits is None else hits + correct
        count += y.shape[0]
    model.train(was_training)
    if count == 0:
        raise ValueError("the evaluation loader yielded no batches")
    result = {"loss": loss_sum.item() / count}
    if multi_label:
        per_label = (hits.float() / count).tolist()
        result.update(accuracy=sum(per_label) / len(per_label), per_label=per_label)
    else:
        result["accuracy"] = hits.item() / count
    return result


def _multi_label(model: nn.Module, multi_label: bool | None) -> bool:
    if multi_label is not None:
        return multi_label
    config = getattr(model, "config", None)
    return bool(getattr(config, "multi_label", False))


def fit(
    model: nn.Module,
    train: Loader,
    valid: Loader | None = None,
    test: Loader | None = None,
    epochs: int = 10,
    lr: float = 0.1,
    weight_decay: float = 5e-4,
    momentum: float = 0.9,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    compile: bool | str = False,
    seed: int | None = None,
    progress: bool | str = True,
    multi_label: bool | None = None,
    combining_lr_scale: float = 1.0,
) -> History:
    """Train ``model`` with SGD (Nesterov momentum) and a per-step cosine learning-rate decay.

    train, valid, test: loaders of ``(x, y)`` batches; valid and test are evaluated after
    every epoch when given. On CUDA, bf16 autocast and channels_last are on by default
    (``amp``, ``channels_last``); ``compile=True`` wraps the model in ``torch.compile``,
    and a string picks its ``mode`` (``"reduce-overhead"``: CUDA graphs on a GPU, for
    networks whose steps are too short to keep it busy from Python).
    Weight decay is applied to weights, not to biases, BatchNorm parameters or LRLC
    combining logits. Returns the per-epoch :class:`History`; the model is trained in place.

    combining_lr_scale: the spatial combining logits of LRLC layers (``combining_row``,
    ``combining_col``, ``combining_logits``) learn at ``lr * combining_lr_scale``; every
    other parameter, the input-dependent combining network's included, at ``lr``. 0
    freezes them where they are (uniform weights for a freshly built layer).

    Multi-label heads (``multi_label``, default ``model.config.multi_label``; e.g. CelebA's
    40 attributes) train on the binary cross-entropy summed over the labels and averaged
    over the examples: each attribute's gradient has the weight of a single-label task's,
    not 1 / labels of it (the stored CelebA attribute results were trained this way).

    seed: when given, seeds what :func:`fit` draws: torch's global generator (the order of a
    ``DataLoader`` without a generator of its own, dropout and any other randomness in the
    model's forward pass) and, if ``train`` is a :class:`.DeviceLoader` built without a ``seed``
    (``explicit_seed`` False), its generator (shuffle order and augmentation). A loader
    built with ``seed=`` keeps its own sequence, as does a ``DataLoader`` with its own
    ``generator``; valid and test loaders are not touched. The model's initial weights are
    drawn when it is built: call ``torch.manual_seed`` before building it.

    progress: ``True`` draws a ``tqdm.auto`` bar (a widget in Jupyter and Colab, text in a
    terminal) with loss, accuracy and images/s; ``"log"`` prints one line per epoch
    instead (the environment variable ``LRLC_PROGRESS=log`` turns ``True`` into ``"log"``:
    the book's stored outputs are made that way); ``False`` is silent.
    """
    epochs = as_int(epochs, "epochs", minimum=1)
    if not combining_lr_scale >= 0:  # also catches NaN
        raise ValueError(
            f"combining_lr_scale must be >= 0 (a factor on lr), got {combining_lr_scale}"
        )
    for loader, name in ((train, "train"), (valid, "valid"), (test, "test")):
        if loader is not None:
            _check_loader(loader, name)
    mode = _progress_mode(progress)
    if seed is not None:
        set_seed(seed)
        if isinstance(train, DeviceLoader) and not train.explicit_seed:  # its drawn seed
            train.manual_seed(seed)
    device = auto_device(device)
    multi_label = _multi_label(model, multi_label)
    use_amp = _use_amp(device, amp)
    channels_last = device.type == "cuda" if channels_last is None else channels_last
    model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    step_model = _compiled(model, compile)

    optimizer = torch.optim.SGD(
        _param_groups(model, weight_decay, lr, combining_lr_scale),
        lr=lr,
        momentum=momentum,
        nesterov=momentum > 0,
    )
    steps_per_epoch = len(train)  # type: ignore[arg-type]
    if steps_per_epoch == 0:
        raise ValueError(
            "the training loader yields no batches: it has fewer images than one batch and "
            "drops the last partial batch. Use a smaller batch_size or more training images."
        )
    total_steps = max(1, epochs * steps_per_epoch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )
    history = History()
    bar = tqdm(total=total_steps, disable=mode != "bar", unit="step", dynamic_ncols=True)
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct_sum = torch.zeros((), device=device, dtype=torch.long)
        seen = predictions = 0
        for step, (x, y) in enumerate(train):
            x, y = _to_device(x, y, device, channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = step_model(x)
            if epoch == 0 and step == 0:
                _check_targets(logits, y, multi_label)
            loss, correct, n = _loss_and_correct(logits, y, multi_label)
            optimizer.zero_grad(set_to_none=True)
            (loss / x.shape[0]).backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach()
            correct_sum += correct
            seen += x.shape[0]
            predictions += n
            bar.update(1)
            if mode == "bar" and (step % 25 == 0 or step == steps_per_epoch - 1):
                rate = seen / max(time.perf_counter() - start, 1e-9)
                bar.set_postfix(
                    epoch=f"{epoch + 1}/{epochs}",
                    loss=f"{loss_sum.item() / seen:.3f}",
                    acc=f"{correct_sum.item() / predictions:.3f}",
                    img_s=f"{rate:,.0f}",
                )
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        history.train_loss.append(loss_sum.item() / max(seen, 1))
        history.train_accuracy.append(correct_sum.item() / max(predictions, 1))
        history.seconds.append(seconds)
        history.images_per_second.append(seen / seconds)
        for loader, record in ((valid, history.valid_accuracy), (test, history.test_accuracy)):
            acc = None
            if loader is not None:
                acc = evaluate(model, loader, device, multi_label, use_amp)["accuracy"]
            record.append(acc)
        if mode == "bar":
            summary = {"loss": f"{history.train_loss[-1]:.3f}"}
            if history.valid_accuracy[-1] is not None:
                summary["valid"] = f"{history.valid_accuracy[-1]:.3f}"
            bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", **summary)
        elif mode == "log":
            print(_epoch_line(history, epoch, epochs), flush=True)
    bar.close()
    return history


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _compiled(model: nn.Module, compile: bool | str) -> nn.Module:
    """``model``, or ``torch.compile(model)`` with ``compile`` as its mode when a string."""
    if compile is False:
        return model
    if compile is not True and compile not in COMPILE_MODES:
        raise ValueError(
            f"compile must be True, False or a torch.compile mode {COMPILE_MODES}, got {compile!r}"
        )
    return torch.compile(model, mode=None if compile is True else compile)


PROGRESS_MODES = {True: "bar", "bar": "bar", "log": "log", False: "off", None: "off"}


def _progress_mode(progress: bool | str | None) -> str:
    """``"bar"``, ``"log"`` or ``"off"``; ``LRLC_PROGRESS=log`` turns a bar into a log."""
    if progress not in PROGRESS_MODES:
        raise ValueError(f"progress must be True, False or 'log', got {progress!r}")
    mode = PROGRESS_MODES[progress]
    setting = os.environ.get("LRLC_PROGRESS", "").strip().lower()
    if setting not in ("", "bar", "log"):
        raise ValueError(f"LRLC_PROGRESS must be 'bar' or 'log', got {setting!r}")
    return "log" if mode == "bar" and setting == "log" else mode


def _epoch_line(history: History, epoch: int, epochs: int) -> str:
    """One line of the ``"log"`` progress: loss, accuracies, speed and time of an epoch."""
    parts = [
        f"epoch {epoch + 1}/{epochs}",
        f"loss {history.train_loss[epoch]:.3f}",
        f"train {history.train_accuracy[epoch]:.1%}",
    ]
    for name, record in (("valid", history.valid_accuracy), ("test", history.test_accuracy)):
        if record[epoch] is not None:
            parts.append(f"{name} {record[epoch]:.1%}")
    parts.append(f"{history.images_per_second[epoch]:,.0f} images/s")
    parts.append(f"{history.seconds[epoch]:.1f} s")
    return " | ".join(parts)


def _is_combining_logit(name: str) -> bool:
    """Whether the parameter ``name`` is spatial LRLC combining logits."""
    return name.rsplit(".", 1)[-1] in ("combining_row", "combining_col", "combining_logits")


def _param_groups(
    model: nn.Module, weight_decay: float, lr: float, combining_lr_scale: float = 1.0
) -> list[dict]:
    """Weight decay on weights (2-D and up), none on biases, norms and combining logits;
    the spatial combining logits in a group of their own at ``lr * combining_lr_scale``."""
    decay, no_decay, logits = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if _is_combining_logit(name):
            logits.append(p)
        else:
            (no_decay if p.dim() < 2 or "bias" in name else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if logits:
        groups.append({"params": logits, "weight_decay": 0.0, "lr": lr * combining_lr_scale})
    return groups
