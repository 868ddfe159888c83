"""One CIFAR-10 training epoch: lrlc's on-device loader vs a plain torchvision DataLoader loop.

Both loops train the same network (the paper's 3-layer conv network) with the same optimizer
and precision; only the input pipeline and the per-batch Python differ:

- ``device``: ``lrlc.data``'s ``DeviceLoader`` (the split lives on the device as uint8,
  shuffled with ``randperm`` and normalised per batch there) driven by ``lrlc.train.fit``;
- ``dataloader``: the loop most tutorials write: a torchvision-style ``Dataset`` that turns
  each image into a PIL image and applies ``ToTensor`` (as ``torchvision.datasets.CIFAR10``
  does), a ``torch.utils.data.DataLoader`` with worker processes and pinned memory, ``.to``
  the device per batch and ``loss.item()`` per batch.

With ``--compile MODES`` the on-device loop is timed again per ``torch.compile`` mode
(``fit(..., compile=mode)``; e.g. ``default,reduce-overhead``), the compilation falling in
the warm-up epoch that is not counted.

Run: ``python benchmarks/training.py [--device cuda] [--epochs 2] [--workers 8]
[--compile default,reduce-overhead]``; it writes
``benchmarks/results/training-<device>.json``. Speed claims live here, not in tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import functional as TF

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrlc import data  # noqa: E402
from lrlc.models import paper_network  # noqa: E402
from lrlc.provenance import git_commit  # noqa: E402
from lrlc.train import auto_device, fit  # noqa: E402


class PILDataset(Dataset):
    """images: (N, 3, H, W) uint8 -> (float (3, H, W) in [0, 1], label), one PIL image each."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images.permute(0, 2, 3, 1).numpy()
        self.labels = labels.tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return TF.to_tensor(Image.fromarray(self.images[i])), self.labels[i]


def dataloader_epoch(model, loader, optimizer, device, amp: bool) -> float:
    """One epoch of the common loop; returns images per second."""
    model.train()
    seen, start = 0, time.perf_counter()
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()  # what a progress print per batch costs: a sync
        seen += x.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="the quick subset: numbers mean little")
    ap.add_argument(
        "--compile",
        default="",
        help="torch.compile modes to time the on-device loop in as well, e.g. "
        "default,reduce-overhead (default: none)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    device = auto_device(args.device)
    amp = device.type == "cuda"
    train = data.load("cifar10", "train", quick=args.quick or None)

    def device_loop(compile: bool | str = False) -> float:
        """lrlc: DeviceLoader + fit, images/s: fit runs a warm-up epoch (compilation, if
        any, falls in it) and the timed epochs; the median of the timed ones."""
        torch.manual_seed(0)
        model = paper_network("conv", dataset="cifar10")
        loader = train.loader(args.batch, device=device, shuffle=True, drop_last=True, seed=0)
        history = fit(model, loader, epochs=1 + args.epochs, device=device, progress=False,
                      compile=compile)  # fmt: skip
        timed = sorted(history.images_per_second[1:])
        return timed[len(timed) // 2]

    device_rate = device_loop()
    compiled = {mode: device_loop(mode) for mode in filter(None, args.compile.split(","))}

    torch.manual_seed(0)
    model = paper_network("conv", dataset="cifar10").to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    plain = DataLoader(
        PILDataset(train.images, train.labels),
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    rates = [dataloader_epoch(model, plain, optimizer, device, amp) for _ in range(1 + args.epochs)]
    plain_rate = sorted(rates[1:])[len(rates[1:]) // 2]

    cpu_name = platform.processor() or "cpu"
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name,
        "torch": torch.__version__,
        "commit": git_commit(),
        "date": datetime.date.today().isoformat(),
        "data": {"source": train.source, "train_size": len(train), "is_subset": train.is_subset,
                 "note": train.note},
        "config": {"model": "paper conv network", "batch": args.batch, "epochs_timed": args.epochs,
                   "amp": "bf16" if amp else "float32", "workers": args.workers,
                   "cpu_threads": torch.get_num_threads()},
        "device_loader_images_per_second": round(device_rate, 1),
        "dataloader_images_per_second": round(plain_rate, 1),
        "speedup": round(device_rate / plain_rate, 2),
    }  # fmt: skip
    if compiled:  # each mode's images/s and its ratio to the eager on-device loop
        result["compiled_images_per_second"] = {m: round(r, 1) for m, r in compiled.items()}
        result["compiled_vs_eager"] = {m: round(r / device_rate, 2) for m, r in compiled.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    name = "cpu" if device.type == "cpu" else result["device"].lower().replace(" ", "-")
    path = args.out / f"training-{name}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
