"""The paper's experiment grids: ``python -m lrlc.experiments DATASET``.

For each variant (layer type, rank, which layers) the learning rate and weight decay are
picked on the validation split (the paper tuned them but did not publish the values), then
every variant is trained with several seeds and evaluated on the test split. Results go to
``results/<dataset>.json`` after every run, with their provenance (device, data, commit),
so an interrupted grid resumes where it stopped.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import json
import multiprocessing
import os
import statistics
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from lrlc import data
from lrlc.counting import count_parameters
from lrlc.datasets.cifar10 import decoded_from_jpeg
from lrlc.layers import LowRankLocallyConnected2d
from lrlc.loader import Augment
from lrlc.misaligned import MisalignedLoader, base_dataset
from lrlc.models import PLACEMENT_LAYERS, paper_network
from lrlc.provenance import device_name, git_commit
from lrlc.results import GRID_DATASETS, summarize
from lrlc.train import COMPILE_MODES, auto_device, evaluate, fit

__all__ = ["Variant", "GRIDS", "default_variants", "run_grid", "summarize", "main"]

RESULT_LAYERS = ("conv", "lc", "lrlc", "lrlc_input", "wide_conv", "coordconv")
DATASETS = GRID_DATASETS
TASKS = {"label": "Male", "attributes": "all 40 attributes, multi-label, mean accuracy"}
# What a tuning record keeps of its run.
TUNING_KEYS = ("layer", "rank", "where", "lr", "weight_decay", "epochs", "valid_accuracy",
               "wall_seconds")  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One network of the grid: ``layer`` in all three layers, the last or the first only."""

    layer: str
    rank: int | None = None
    where: str = "all"

    def key(self) -> str:
        """The variant's name in logs and checkpoints, e.g. ``lrlc-r4-all``."""
        rank = "" if self.rank is None else f"-r{self.rank}"
        return f"{self.layer}{rank}-{self.where}"

    def family(self) -> str:
        """Variants that share tuned hyper-parameters: the same layer type and placement."""
        return f"{self.layer}-{self.where}"


@dataclass(frozen=True)
class Grid:
    """Training settings of one dataset's grid."""

    epochs: int
    batch_size: int = 256
    lrs: tuple[float, ...] = (0.05, 0.1, 0.2)
    weight_decays: tuple[float, ...] = (0.0, 5e-4)
    seeds: tuple[int, ...] = (0, 1, 2)
    tune_rank: int = 4  # the rank at which LRLC families are tuned
    combining_lr_scale: float = 1.0  # the spatial combining logits learn at lr times this
    augment: str = ""  # "" none; "standard" (AUGMENTS), "crop" or "flip" of training images
    crop_padding: int | None = None  # the crops' padding; None: the dataset's (AUGMENTS)
    per_position_logits: bool = False  # spatial LRLC: a logit per position, not row + column


GRIDS = {
    "mnist": Grid(epochs=20),
    "cifar10": Grid(epochs=40),
    "celeba": Grid(epochs=30),
    "trans_celeba48": Grid(epochs=30),
}
"""The reference grids' settings per dataset (``python -m lrlc.experiments DATASET``)."""

AUGMENTS = {"mnist": Augment(hflip=False), "cifar10": Augment(), "celeba": Augment()}
"""The training augmentation of ``--augment`` per dataset (none in the paper): a random crop
after zero padding of 4 pixels a side, and a horizontal flip except on MNIST, where a
mirrored digit is another sign. The misaligned faces have none: they move every face."""


UNTUNED_SELECTION = "none: every family at the first lr and weight decay (--no-tune)"
"""A grid's ``config["selection"]`` when it was not tuned."""

PER_POSITION_LOGITS = "one per position (share_combining_weights=False)"
"""What a file's ``config["combining_logits"]`` says of a grid with ``--per-position-logits``
(absent: shared row and column logits, the default)."""

AUGMENT_PARTS = ("crop", "flip")
"""``--augment crop`` or ``--augment flip``: one part of the standard augmentation alone."""


def training_augment(dataset: str, augment: str, crop_padding: int | None = None) -> Augment | None:
    """The :class:`.Augment` of ``dataset``'s training images for a grid's ``augment``:
    None for "", :data:`AUGMENTS` for "standard", its crop or its flip alone for "crop" and
    "flip"; ``crop_padding`` (``--crop-padding``) replaces the crops' padding of 4 pixels.
    Raises ``ValueError`` naming the fix where the dataset has no such augmentation."""
    if crop_padding is not None and augment not in ("standard", "crop"):
        given = f"--augment {augment}" if augment else "training without --augment"
        raise ValueError(
            f"--crop-padding sets the random crops' padding, but {given} makes no crops: "
            "add --augment crop (crops only) or --augment (crops and flips)"
        )
    if crop_padding is not None and crop_padding < 1:
        raise ValueError(
            f"--crop-padding must be at least 1 pixel, got {crop_padding}; for no crops, "
            "use --augment flip or drop --augment"
        )
    if not augment:
        return None
    if dataset not in AUGMENTS:
        raise ValueError(
            f"--augment is for the aligned datasets ({', '.join(AUGMENTS)}): {dataset} moves "
            "every face to a random place already; drop --augment"
        )
    standard = AUGMENTS[dataset]
    if crop_padding is not None:
        standard = replace(standard, padding=crop_padding)
    if augment == "standard":
        return standard
    if augment == "crop":
        return Augment(padding=standard.padding, hflip=False)
    if augment == "flip" and standard.hflip:
        return Augment(padding=0, hflip=True)
    if augment == "flip":
        raise ValueError(
            f"--augment flip: {dataset} is never flipped (a mirrored digit is another sign); "
            "use --augment crop"
        )
    raise ValueError(f"augment must be '', 'standard' or one of {AUGMENT_PARTS}, got {augment!r}")


def augmentation(dataset: str, augment: str = "standard", crop_padding: int | None = None) -> str:
    """What ``augment`` (``--augment [crop|flip]``, with ``--crop-padding``) does to
    ``dataset``'s training images, in words, for results files: "none (as the paper)" for
    ""."""
    parts = training_augment(dataset, augment, crop_padding)
    if parts is None:
        return "none (as the paper)"
    crop = f"random crop after zero padding of {parts.padding} pixels" if parts.padding else ""
    flip = "random horizontal flip" if parts.hflip else ""
    return f"{' and a '.join(p for p in (crop, flip) if p)}, training only"


def default_variants(dataset: str, ranks: tuple[int, ...] = (1, 2, 4, 8, 16)) -> list[Variant]:
    """The reference grid: conv, CoordConv, LC, wide conv, LRLC at every rank in all layers
    and in the last layer only, and input-dependent LRLC; for the misaligned faces, conv,
    its two controls (CoordConv, wide conv) and LRLC in all layers, spatial and
    input-dependent (no LC: on 48x48 canvases it is several times larger still)."""
    if dataset == "trans_celeba48":
        controls = [Variant("conv"), Variant("coordconv"), Variant("wide_conv", 4)]
        return [*controls, *(Variant("lrlc", r) for r in ranks), Variant("lrlc_input", 4)]
    return [
        Variant("conv"),
        Variant("coordconv"),
        Variant("lc"),
        Variant("wide_conv", 4),
        *(Variant("lrlc", r) for r in ranks),
        *(Variant("lrlc", r, "last") for r in ranks),
        Variant("lrlc_input", 4),
    ]


# ------------------------------------------------------------------ data


def load_splits(
    dataset: str,
    root=None,
    source: str | None = None,
    quick=None,
    sizes: dict[str, int | None] | None = None,
) -> dict:
    """The train, valid and test splits of a dataset, as ``ImageDataset`` objects (CPU, uint8).

    sizes: e.g. {"train": 3000}: class-balanced subsets of those splits (for CPU runs).
    """
    name = base_dataset(dataset)
    splits = {s: data.load(name, s, root, quick=quick, source=source) for s in data.SPLITS}
    for split, size in (sizes or {}).items():
        if size:
            splits[split] = splits[split].subset(size)
    return splits


def make_loader(
    dataset: str,
    split,
    batch_size: int,
    device,
    train: bool,
    seed: int,
    task: str = "label",
    augment: str = "",
    crop_padding: int | None = None,
):
    """A device loader for training (shuffled, last partial batch dropped, augmented as
    :func:`training_augment` says for ``augment`` and ``crop_padding``) or evaluation
    (never augmented)."""
    loader = split.loader(
        batch_size if train else 1024,
        device=device,
        shuffle=train,
        drop_last=train,
        augment=training_augment(dataset, augment, crop_padding) if train else None,
        seed=seed,
        targets="attributes" if task == "attributes" else "labels",
    )
    if dataset == "trans_celeba48":
        # Fresh offsets every epoch in training; the same ones every pass in evaluation.
        return MisalignedLoader(loader, canvas=48, seed=seed, fixed=not train)
    return loader


def _relative_to_root(text: str, root: Path) -> str:
    """Paths under the data root written as ``$LRLC_DATA/...``: no paths of this machine."""
    for form in dict.fromkeys((str(root.resolve()), str(root))):
        text = text.replace(form, "$LRLC_DATA")
    return text


def data_record(splits: dict, root=None) -> dict:
    train, test = splits["train"], splits["test"]
    root = data.data_root(root)
    notes = [f"{name}: {s.note}" for name, s in splits.items() if s.note]
    return {
        "source": _relative_to_root(f"{train.source}: {train.path}", root),
        "train_size": len(train),
        "valid_size": len(splits["valid"]),
        "test_size": len(test),
        "is_subset": any(s.is_subset for s in splits.values()),
        "note": _relative_to_root(" ".join(notes), root),
    }


# ------------------------------------------------------------------ runs


def train_variant(
    variant: Variant,
    dataset: str,
    splits: dict,
    grid: Grid,
    lr: float,
    weight_decay: float,
    seed: int,
    device: torch.device,
    epochs: int | None = None,
    compile: bool | str = False,
    progress: bool = True,
    task: str = "label",
) -> dict:
    """Train one network from scratch; returns its run record (accuracies in [0, 1]).

    task: "label" (the dataset's classes; CelebA: Male) or "attributes" (CelebA's 40
    attributes with a multi-label head; accuracy is the mean over attributes).
    """
    epochs = epochs or grid.epochs
    torch.manual_seed(seed)
    head = {"num_classes": 40, "multi_label": True} if task == "attributes" else {}
    if grid.per_position_logits:
        head["share_combining_weights"] = False
    model = paper_network(variant.layer, variant.rank, dataset=dataset, where=variant.where, **head)
    loaders = {
        name: make_loader(
            dataset,
            split,
            grid.batch_size,
            device,
            name == "train",
            seed,
            task,
            grid.augment,
            grid.crop_padding,
        )
        for name, split in splits.items()
    }
    history = fit(
        model,
        loaders["train"],
        valid=loaders["valid"],
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        device=device,
        compile=compile,
        seed=seed,
        progress=progress,
        combining_lr_scale=grid.combining_lr_scale,
    )
    test = evaluate(model, loaders["test"])
    extra: dict = {}
    if "per_label" in test:  # CelebA's 40 attributes
        extra["test_per_label"] = [round(a, 5) for a in test["per_label"]]
    if variant.layer == "lc":  # the LC network's initial scale decides how fast it trains
        extra["lc_init"] = model.config.lc_init
    maps = learned_combining_logits(model)
    if maps:
        extra["combining_logits"] = maps
    return {
        **asdict(variant),
        "seed": seed,
        "commit": git_commit(),
        "device": device_name(device),  # a grid resumed elsewhere mixes devices
        "torch": torch.__version__,
        "epochs": epochs,
        "lr": lr,
        "weight_decay": weight_decay,
        "valid_accuracy": history.valid_accuracy[-1],
        "test_accuracy": test["accuracy"],
        "params": count_parameters(model),
        "train_seconds": round(sum(history.seconds), 2),
        "images_per_second": round(statistics.median(history.images_per_second), 1),
        "valid_curve": [round(a, 5) for a in history.valid_accuracy],
        "train_loss_curve": [round(v, 5) for v in history.train_loss],
        **extra,
    }


def learned_combining_logits(model: torch.nn.Module) -> dict[str, dict[str, list]]:
    """The spatial combining logits of every LRLC layer of ``model`` as nested lists,
    rounded: {module name: {"row": (H_out, rank), "col": (W_out, rank)}} for shared logits
    (weights ``softmax(row[:, None] + col[None, :], -1)``), {"logits": (H_out, W_out,
    rank)} for per-position ones (weights ``softmax(logits, -1)``). Input-dependent layers
    have none to record."""

    def listed(logits: torch.Tensor) -> list:
        return logits.detach().cpu().double().round(decimals=4).tolist()

    maps = {}
    for name, module in model.named_modules():
        if not isinstance(module, LowRankLocallyConnected2d) or module.input_dependent:
            continue
        if module.combining_row is not None:
            maps[name] = {"row": listed(module.combining_row), "col": listed(module.combining_col)}
        elif module.combining_logits is not None:
            maps[name] = {"logits": listed(module.combining_logits)}
    return maps


def _same_data(a: dict | None, b: dict) -> bool:
    """The same splits, whatever spelling of the data root reached them: the sizes and
    subset flag agree, the data was read in the same layout (:func:`_layout`: official
    CIFAR-10 pickles are not its JPEG copy of the same sizes), and
    both or neither were decoded from lossy copies (paths may name the root differently)."""
    keys = ("train_size", "valid_size", "test_size", "is_subset")
    if a is None or any(a.get(k) != b.get(k) for k in keys):
        return False
    return _layout(a) == _layout(b) and _lossy(a) == _lossy(b)


def _layout(record: dict) -> str:
    """How a data record's splits were read, as far as it changes the data: "idx" (MNIST),
    "pickle" (official CIFAR-10 batches, in their own order), "images-matched" (a CIFAR-10
    image tree's copies of the pickles' images, in the pickles' order), or "image files" (a
    folder, a zip or a tarball of images: CelebA's folder and zip hold the same JPEGs)."""
    kind = record.get("source", "").split(": ", 1)[0]
    return kind if kind in ("idx", "pickle", "images-matched") else "image files"


def _lossy(record: dict) -> bool:
    """Whether a data record's note says its images were decoded from JPEG copies."""
    return decoded_from_jpeg(record.get("note", ""))


def _write(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(path)


def _relative(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it, else its file
    name: no paths of this machine in a results file."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return Path(path).name


def _chosen_in(path: Path, dataset: str, families) -> dict[str, tuple[float, float]]:
    """The (lr, weight decay) a results file chose for each of ``families``; a file of
    another dataset, or a family it has not chosen for yet, is an error saying so."""
    if not Path(path).exists():
        raise ValueError(f"--chosen-from {path}: no such results file")
    raw = json.loads(Path(path).read_text())
    if raw.get("dataset") != dataset:
        raise ValueError(f"--chosen-from {path} holds a grid of {raw.get('dataset')!r}, "
                         f"not {dataset!r}")  # fmt: skip
    chosen = raw.get("chosen", {})
    missing = [f for f in families if f not in chosen]
    if missing:
        raise ValueError(
            f"--chosen-from {path} has chosen no lr and weight decay for {', '.join(missing)} "
            "yet: finish that grid's tuning for them first (the same command resumes it)"
        )
    return {f: (chosen[f]["lr"], chosen[f]["weight_decay"]) for f in families}


def run_grid(
    dataset: str,
    variants: list[Variant],
    grid: Grid,
    out: Path,
    device: torch.device,
    root=None,
    source: str | None = None,
    quick: bool | None = None,
    tune: bool = True,
    tune_epochs: int | None = None,
    compile: bool | str = False,
    progress: bool = True,
    task: str = "label",
    train_size: int | None = None,
    valid_size: int | None = None,
    time_limit: float | None = None,
    run_note: str | None = None,
    workers: int = 1,
    chosen_from: Path | None = None,
) -> dict:
    """Tune each family on the validation split, then train every variant x seed.

    The order gives a usable grid early: each family is tuned and its variants trained
    with the first seed, family after family; then the other seeds, seed after seed.

    task: "label" or, for CelebA, "attributes" (see :func:`train_variant`).
    train_size, valid_size: class-balanced subsets of those splits (the test split stays whole).
    time_limit: seconds from the call; no run is started that is expected to end later
    (judged by how long its variant, else its family, took per epoch in ``out`` and in
    this call), and none once the time is up. Runs are never cut short; the same call
    again resumes the grid.
    run_note: a remark stored with every run of this call (e.g. that the GPU was shared).
    workers: how many runs train at a time, each in a process of its own that loads the
    data once (on a GPU, small networks leave it mostly idle, waiting on Python: several
    processes keep it busier). Every run is seeded on its own, so the runs are the same;
    only their order in the file and their speed differ, and each run's ``note`` says it
    shared the device. 1 (the default) trains in this process, in the order above.
    chosen_from: a results file whose tuned choices (its ``chosen``) every family of this
    grid uses, without tuning: e.g. the grid with faster combining logits at the learning
    rate and weight decay the plain grid picked for LRLC, so that only the logits' rate
    differs between the two. Each family must have been chosen there.

    Results are written to ``out`` after every run; runs already in ``out`` with the same
    settings are kept, not repeated. ``out`` holding runs of other settings is an error,
    never overwritten.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if task == "attributes" and base_dataset(dataset) != "celeba":
        raise ValueError(f"only CelebA has attributes; use task='label' for {dataset}")
    augmentation_text = augmentation(dataset, grid.augment, grid.crop_padding)  # or refuses
    clock = _Clock(time_limit)  # data loading counts too
    sizes = {"train": train_size, "valid": valid_size}
    tune_epochs = tune_epochs or grid.epochs
    families = dict.fromkeys(v.family() for v in variants)
    preset = _chosen_in(chosen_from, dataset, families) if chosen_from else None
    if preset:
        tune = False
        grid = replace(grid, lrs=tuple(sorted({lr for lr, _ in preset.values()})),
                       weight_decays=tuple(sorted({wd for _, wd in preset.values()})))  # fmt: skip
    splits = load_splits(dataset, root, source, quick, sizes)
    config = {
        "task": TASKS[task] if base_dataset(dataset) == "celeba" else "the 10 classes",
        "train_size": train_size,
        "valid_size": valid_size,
        "epochs": grid.epochs,
        "batch_size": grid.batch_size,
        "lrs": list(grid.lrs),
        "weight_decays": list(grid.weight_decays),
        "tune_rank": grid.tune_rank,
        "tune_epochs": tune_epochs,
        "optimizer": "SGD, Nesterov momentum 0.9, cosine decay per step, no warm-up",
        "augmentation": augmentation_text,
        "amp": "bf16 autocast" if device.type == "cuda" else "float32",
        "selection": "lr and weight decay with the best validation accuracy, seed 0",
    }
    if preset:  # the file it came from is recorded outside config: it may move
        config["selection"] = "lr and weight decay as another grid chose them (chosen_from)"
    elif not tune:
        config["selection"] = UNTUNED_SELECTION
    if grid.combining_lr_scale != 1:  # recorded only when used: older files stay resumable
        config["combining_lr_scale"] = grid.combining_lr_scale
    if grid.per_position_logits:  # likewise
        config["combining_logits"] = PER_POSITION_LOGITS
    results = {
        "dataset": dataset,
        "data": data_record(splits, root),
        "device": device_name(device),
        "torch": torch.__version__,
        "commit": git_commit(),
        "date": _dt.date.today().isoformat(),
        "config": config,
        "tuning": [],
        "chosen": {},
        "runs": [],
    }
    if preset:
        results["chosen_from"] = _relative(chosen_from)
    if out.exists():
        previous = json.loads(out.read_text())
        _check_resumable(out, previous, config, results["data"])
        results["tuning"], results["runs"] = previous["tuning"], previous["runs"]
        # a call with other layers keeps what earlier calls chose for theirs
        results["chosen"] = dict(previous.get("chosen", {}))
    done_tuning = {(t["family"], t["lr"], t["weight_decay"]) for t in results["tuning"]}
    done_runs = {(r["layer"], r["rank"], r["where"], r["seed"]) for r in results["runs"]}
    for record in results["tuning"] + results["runs"]:
        clock.record(record)
    chosen: dict[str, tuple[float, float]] = {}  # family -> (lr, weight decay)

    def choose(family: str) -> None:
        """Pick the family's lr and weight decay once all its tuning runs are in."""
        if preset:
            chosen[family] = preset[family]
        elif not tune:
            chosen[family] = (grid.lrs[0], grid.weight_decays[0])
        else:
            tried = [t for t in results["tuning"] if t["family"] == family]
            if len(tried) < len(grid.lrs) * len(grid.weight_decays):
                return  # not all in yet (or stopped for time): no choice, no runs
            best = max(tried, key=lambda t: t["valid_accuracy"])
            chosen[family] = (best["lr"], best["weight_decay"])
        lr, wd = chosen[family]
        results["chosen"][family] = {"lr": lr, "weight_decay": wd}

    # The jobs in the order that gives a usable grid early: each family is tuned and its
    # variants trained with the first seed, family after family; then the other seeds.
    first_seed, *other_seeds = grid.seeds
    jobs: list[_Job] = []
    for family in families:
        members = [v for v in variants if v.family() == family]
        probe = next((v for v in members if v.rank == grid.tune_rank), members[0])
        if tune:
            jobs += [_Job(probe, 0, tune_epochs, lr, wd)
                     for lr, wd in itertools.product(grid.lrs, grid.weight_decays)
                     if (family, lr, wd) not in done_tuning]  # fmt: skip
        jobs += [_Job(v, first_seed, grid.epochs) for v in members]
    jobs += [_Job(v, seed, grid.epochs) for seed in other_seeds for v in variants]
    pending = [j for j in jobs if j.tuning or j.run_key() not in done_runs]
    for family in families:
        choose(family)

    def next_job() -> _Job | None:
        """The first pending job whose family is tuned (or that is tuning) and that fits."""
        for job in pending:
            ready = job.tuning or job.variant.family() in chosen
            if ready and clock.allows(job.variant, job.epochs):
                pending.remove(job)
                return job
        return None

    if workers > 1:
        others = "1 other run" if workers == 2 else f"{workers - 1} other runs"
        shared = (f"trained beside up to {others} of this grid on the same device "
                  "(--workers): its images/s is not an idle device's")  # fmt: skip
        run_note = "; ".join(filter(None, [run_note, shared]))
    context = _Context(dataset, grid, device, compile, progress and workers == 1, task)
    failure: BaseException | None = None
    with _pool(context, splits, workers, (root, source, quick, sizes)) as pool:
        running: dict[Future, _Job] = {}
        while True:
            while failure is None and len(running) < workers:
                job = next_job()
                if job is None:
                    break
                lr, wd = (job.lr, job.weight_decay) if job.tuning else chosen[job.variant.family()]
                kind = "tune" if job.tuning else "run"
                seed = "" if job.tuning else f" seed={job.seed}"
                print(f"[{kind}] {dataset} {job.variant.key()}{seed} lr={lr} wd={wd}", flush=True)
                epochs = job.epochs if job.tuning else None  # None: the grid's
                running[pool.submit(job.variant, lr, wd, job.seed, epochs)] = job
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                try:
                    record = future.result()
                except Exception as error:  # let the other workers finish, then raise it
                    failure = failure or error
                    continue
                if run_note:
                    record["note"] = run_note
                clock.record(record)
                if job.tuning:
                    family = job.variant.family()
                    tuned = {"family": family, **{k: record[k] for k in TUNING_KEYS}}
                    results["tuning"].append(tuned)
                    choose(family)
                else:
                    results["runs"].append(record)
                _write(out, results)
                if not job.tuning:
                    print(
                        f"      {job.variant.key()} seed={job.seed}: test "
                        f"{record['test_accuracy']:.4f}  valid {record['valid_accuracy']:.4f}"
                        f"  {record['wall_seconds']:.0f} s",
                        flush=True,
                    )
    if failure is not None:
        raise failure

    done_runs = {(r["layer"], r["rank"], r["where"], r["seed"]) for r in results["runs"]}
    left = len(variants) * len(grid.seeds) - len(
        done_runs & {(v.layer, v.rank, v.where, s) for v in variants for s in grid.seeds}
    )
    if left:
        untuned = len(families) - len(chosen)
        print(
            f"stopped for time after {clock.elapsed():.0f} s: {left} of "
            f"{len(variants) * len(grid.seeds)} runs pending"
            + (f", {untuned} of {len(families)} families not tuned yet" if untuned else "")
            + "; the same command again resumes the grid",
            flush=True,
        )
    return results


@dataclass(frozen=True)
class _Job:
    """One training of a grid: a tuning run (its lr and weight decay given) or a run (at
    its family's chosen ones)."""

    variant: Variant
    seed: int
    epochs: int
    lr: float | None = None
    weight_decay: float | None = None

    @property
    def tuning(self) -> bool:
        return self.lr is not None

    def run_key(self) -> tuple:
        v = self.variant
        return (v.layer, v.rank, v.where, self.seed)


@dataclass(frozen=True)
class _Context:
    """What every training of a grid shares, but the data."""

    dataset: str
    grid: Grid
    device: torch.device
    compile: bool | str
    progress: bool
    task: str


def _train(context: _Context, splits: dict, variant: Variant, lr: float, wd: float, seed: int,
           epochs: int | None) -> dict:  # fmt: skip
    """:func:`train_variant` with the grid's settings, its wall-clock seconds recorded."""
    c = context
    start = time.perf_counter()
    record = train_variant(variant, c.dataset, splits, c.grid, lr, wd, seed, c.device, epochs,
                           c.compile, c.progress, c.task)  # fmt: skip
    record["wall_seconds"] = round(time.perf_counter() - start, 2)
    return record


class _Inline:
    """One worker: each job runs in this process when it is submitted."""

    def __init__(self, context: _Context, splits: dict) -> None:
        self.context, self.splits = context, splits

    def submit(self, *job) -> Future:
        future: Future = Future()
        try:
            future.set_result(_train(self.context, self.splits, *job))
        except Exception as error:
            future.set_exception(error)
        return future


class _Processes:
    """Several workers: processes that each load the data once, then train job after job."""

    def __init__(self, context: _Context, workers: int, load_args: tuple) -> None:
        # the cores shared out, no more threads each than this process has
        threads = max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) // workers))
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),  # CUDA cannot be forked
            initializer=_start_worker,
            initargs=(context, load_args, threads),
        )

    def submit(self, *job) -> Future:
        return self.pool.submit(_train_in_worker, *job)


_worker: dict = {}  # in a worker process: its context and data


def _start_worker(context: _Context, load_args: tuple, threads: int) -> None:
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    torch.set_num_threads(threads)
    _worker.update(context=context, splits=load_splits(context.dataset, *load_args))


def _exit_with_parent(parent: int, every: float = 5.0) -> None:
    """In a worker: end the process once ``parent`` is gone (killed, say, by a signal that
    reached it alone), instead of training on for a grid no one will write."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _train_in_worker(*job) -> dict:
    return _train(_worker["context"], _worker["splits"], *job)


@contextmanager
def _pool(context: _Context, splits: dict, workers: int, load_args: tuple):
    """Where a grid's jobs run: in this process, or in ``workers`` processes."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        yield _Inline(context, splits)
        return
    pool = _Processes(context, workers, load_args)
    try:
        yield pool
    finally:
        pool.pool.shutdown(cancel_futures=True)


class _Clock:
    """The time limit of a grid: how long runs took, and whether the next one fits.

    A run is expected to take its epochs times the longest time per epoch of its variant
    so far (this call's runs and tuning, and earlier calls' on the same file, from their
    ``wall_seconds``), else of the slowest timed member of its family, scaled up by rank.
    A variant of a family never timed may start as long as any time is left.
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.start = time.perf_counter()
        self.per_epoch: dict[Variant, float] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def record(self, record: dict) -> None:
        """Note how long a run or tuning record (with ``wall_seconds``) took per epoch."""
        if "wall_seconds" in record:
            variant = Variant(record["layer"], record["rank"], record["where"])
            seconds = record["wall_seconds"] / record["epochs"]
            self.per_epoch[variant] = max(seconds, self.per_epoch.get(variant, 0.0))

    def expected(self, variant: Variant, epochs: int) -> float:
        if variant in self.per_epoch:
            return epochs * self.per_epoch[variant]
        kin = [
            seconds * max(1.0, (variant.rank or 1) / (timed.rank or 1))
            for timed, seconds in self.per_epoch.items()
            if timed.family() == variant.family()
        ]
        return epochs * max(kin, default=0.0)

    def allows(self, variant: Variant, epochs: int) -> bool:
        """Whether a run of ``variant`` for ``epochs`` epochs would end within the limit."""
        if self.limit is None:
            return True
        return self.elapsed() + self.expected(variant, epochs) < self.limit


def _check_resumable(out: Path, previous: dict, config: dict, data_record: dict) -> None:
    """``out`` may be resumed only with the settings and data it was made with."""
    changed = [k for k in dict.fromkeys([*config, *previous.get("config", {})])
               if previous.get("config", {}).get(k) != config.get(k)]  # fmt: skip
    if not _same_data(previous.get("data"), data_record):
        changed.append("data (split sizes, subset, layout or JPEG copy)")
    if changed:
        raise ValueError(
            f"{out} holds runs made with other settings ({', '.join(changed)}); they are "
            "kept, not overwritten. Run with the settings it records, or pass --out to "
            "start a new file."
        )


# ------------------------------------------------------------------ summaries


def format_table(rows: list[dict]) -> str:
    lines = [f"{'variant':<30}{'params':>12}{'test accuracy (%)':>22}{'seeds':>7}"]
    for r in rows:
        name = r["layer"] + (f" rank {r['rank']}" if r["rank"] is not None else "")
        name += "" if r["where"] == "all" else f" ({r['where']})"
        acc = f"{100 * r['test_mean']:.2f} ± {100 * r['test_std']:.2f}"
        lines.append(f"{name:<30}{r['params']:>12,}{acc:>22}{r['seeds']:>7}")
    return "\n".join(lines)


# ------------------------------------------------------------------ command line


def _numbers(text: str, kind: type, example: str) -> tuple:
    """``"0,1,2"`` -> ``(0, 1, 2)`` for argparse, or an error that shows the form."""
    try:
        values = tuple(kind(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values:
        name = "integers" if kind is int else "numbers"
        raise argparse.ArgumentTypeError(
            f"takes comma-separated {name}, e.g. {example} (got {text!r})"
        )
    return values


def _ints(text: str) -> tuple[int, ...]:
    return _numbers(text, int, "0,1,2")


def _floats(text: str) -> tuple[float, ...]:
    return _numbers(text, float, "0.05,0.1")


def parse_variants(dataset: str, layers: str | None, ranks: tuple[int, ...]) -> list[Variant]:
    """``--layers conv,lrlc,lrlc@last,...`` -> variants (ranked layers at every rank; ``@last``,
    ``@first`` or ``@middle``: in that layer only)."""
    if layers is None:
        return default_variants(dataset, ranks)
    variants = []
    for item in layers.split(","):
        item, _, only = item.partition(":")
        layer, _, where = item.partition("@")
        if layer not in RESULT_LAYERS:
            raise SystemExit(
                f"error: unknown layer {layer!r}: choose from {', '.join(RESULT_LAYERS)}"
            )
        if where and where not in PLACEMENT_LAYERS:
            raise SystemExit(
                f"error: unknown placement @{where} in {item!r}: use @all, @last, @first or @middle"
            )
        if layer in ("lrlc", "lrlc_input", "wide_conv"):
            try:
                chosen = _ints(only.replace("/", ",")) if only else ranks
            except argparse.ArgumentTypeError:
                raise SystemExit(
                    f"error: --layers {item}:{only}: the ranks after ':' are integers "
                    f"separated by '/', e.g. {layer}:2/4"
                ) from None
            if any(r < 1 for r in chosen):
                raise SystemExit(
                    f"error: {layer} at rank {min(chosen)}: ranks are integers >= 1 "
                    f"(--ranks, or {layer}:r1/r2 in --layers)"
                )
            variants += [Variant(layer, r, where or "all") for r in chosen]
        elif only:
            raise SystemExit(f"error: {layer} has no rank: drop ':{only}' from {item!r}")
        elif layer in ("conv", "coordconv") and where not in ("", "all"):
            raise SystemExit(
                f"error: {layer} is the same network in every placement: "
                f"drop '@{where}' from {item!r}"
            )
        else:
            variants.append(Variant(layer, None, where or "all"))
    return variants


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m lrlc.experiments``."""
    p = argparse.ArgumentParser(prog="python -m lrlc.experiments", description=__doc__)
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument(
        "--layers",
        help="e.g. conv,lc,lrlc,lrlc@last:4,lrlc_input@first:4 (':r1/r2' picks ranks; "
        "@last, @first or @middle: that layer only, the others conv; default: the paper grid)",
    )
    p.add_argument(
        "--ranks",
        type=_ints,
        default=(1, 2, 4, 8, 16),
        help="ranks of the ranked layer types without their own (default: 1,2,4,8,16)",
    )
    base = Grid(epochs=0)  # the defaults every dataset shares
    seeds, lrs, wds = (",".join(map(str, v)) for v in (base.seeds, base.lrs, base.weight_decays))
    epochs = ", ".join(f"{name} {grid.epochs}" for name, grid in GRIDS.items())
    p.add_argument("--seeds", type=_ints, help=f"one run per seed (default: {seeds})")
    p.add_argument("--epochs", type=int, help=f"epochs per run (default: {epochs})")
    p.add_argument("--tune-epochs", type=int, help="epochs of a tuning run (default: --epochs)")
    p.add_argument("--lrs", type=_floats, help=f"learning rates tuning tries (default: {lrs})")
    p.add_argument(
        "--weight-decays", type=_floats, help=f"weight decays tuning tries (default: {wds})"
    )
    p.add_argument(
        "--batch-size", type=int, help=f"training batch size (default: {base.batch_size})"
    )
    p.add_argument("--no-tune", action="store_true", help="use the first lr and weight decay")
    p.add_argument(
        "--combining-lr-scale",
        type=float,
        help="the spatial combining logits of LRLC layers learn at this times the learning "
        "rate (default: 1)",
    )
    p.add_argument(
        "--per-position-logits",
        action="store_true",
        default=None,
        help="spatial LRLC layers learn a combining logit per position and rank instead of "
        "one per row plus one per column (share_combining_weights=False)",
    )
    p.add_argument(
        "--augment",
        nargs="?",
        const="standard",
        choices=("standard", *AUGMENT_PARTS),
        help="random crops (pad 4) and flips (not on MNIST) of the training images (standard, "
        "the default), or one of the two alone (crop, flip); the paper trains without",
    )
    p.add_argument(
        "--crop-padding",
        type=int,
        metavar="PIXELS",
        help="with --augment or --augment crop: zero padding before the random crops, the "
        "largest move of an image (default: 4)",
    )
    p.add_argument(
        "--attributes",
        action="store_true",
        help="CelebA: all 40 attributes (multi-label) instead of Male",
    )
    p.add_argument("--train-size", type=int, help="class-balanced training subset (CPU runs)")
    p.add_argument("--valid-size", type=int, help="class-balanced validation subset")
    p.add_argument(
        "--out",
        type=Path,
        help="default: results/<dataset>.json (results/quick/<dataset>.json for a quick run)",
    )
    p.add_argument("--root", help="data root (default $LRLC_DATA, else ./data)")
    p.add_argument("--source", help="data layout, e.g. cifar10: pickle, images or images-matched")
    p.add_argument("--quick", action="store_true", help="small subsets, for a smoke test")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    p.add_argument(
        "--compile",
        nargs="?",
        const=True,
        default=False,
        metavar="MODE",
        help="torch.compile the networks, optionally in a mode (e.g. reduce-overhead: CUDA "
        "graphs on a GPU)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log files)")
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="MINUTES",
        help="start no run that would end after this many minutes (judged by the variant's "
        "earlier runs); the same command again resumes the grid",
    )
    p.add_argument("--run-note", help="a remark stored with every run of this call")
    p.add_argument(
        "--chosen-from",
        type=Path,
        metavar="RESULTS_FILE",
        help="no tuning: every family trains at the lr and weight decay that results file "
        "chose for it (e.g. faster combining logits at the plain grid's choice)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="runs trained at a time, each in its own process (default: 1; on a GPU, "
        "several keep it busier: the paper's small networks leave it waiting on Python)",
    )
    return p


def grid_of(args: argparse.Namespace) -> Grid:
    """The dataset's ``GRIDS`` settings with the options given on the command line."""
    overrides = {
        "seeds": args.seeds,
        "epochs": args.epochs,
        "lrs": args.lrs,
        "weight_decays": args.weight_decays,
        "batch_size": args.batch_size,
        "combining_lr_scale": args.combining_lr_scale,
        "augment": args.augment,
        "crop_padding": args.crop_padding,
        "per_position_logits": args.per_position_logits,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    return Grid(**{**asdict(GRIDS[args.dataset]), **given})


def main(argv: list[str] | None = None) -> dict:
    """Run ``python -m lrlc.experiments`` with the arguments ``argv`` (default: the
    command line's): train the dataset's grid with :func:`run_grid`, write it to ``--out``
    (default ``results/<dataset>.json``, ``results/<dataset>-attributes.json`` with
    ``--attributes``; a quick run, ``--quick`` or ``LRLC_QUICK=1``, defaults to
    ``results/quick/``, which the chapters never read), print the summary table and return
    the results.

    A bad setting or missing data exits with ``SystemExit("error: ...")``, not a traceback.
    The options are described in Appendix A and by ``python -m lrlc.experiments --help``.
    """
    args = build_parser().parse_args(argv)
    if args.compile not in (True, False, *COMPILE_MODES):
        raise SystemExit(f"error: --compile takes one of {', '.join(COMPILE_MODES)}, "
                         f"not {args.compile!r}")  # fmt: skip
    grid = grid_of(args)
    variants = parse_variants(args.dataset, args.layers, args.ranks)
    suffix = "-attributes" if args.attributes else ""
    # a smoke run must not become the reference grid the chapters read
    quick = True if args.quick else None  # else LRLC_QUICK decides (data.quick_mode)
    folder = Path("results") / "quick" if data.quick_mode(quick) else Path("results")
    out = args.out or folder / f"{args.dataset}{suffix}.json"
    if out.is_dir():
        raise SystemExit(f"error: --out {out} is a folder: give a file, e.g. {out}/grid.json")
    try:
        device = auto_device(args.device)
    except RuntimeError as error:  # no such device here, or no such name
        raise SystemExit(f"error: {error}") from None
    print(f"{args.dataset}: {len(variants)} variants x {len(grid.seeds)} seeds on {device}")
    try:
        results = run_grid(
            args.dataset,
            variants,
            grid,
            out,
            device,
            root=args.root,
            source=args.source,
            quick=quick,
            tune=not args.no_tune,
            tune_epochs=args.tune_epochs,
            compile=args.compile,
            progress=not args.no_progress and os.environ.get("TQDM_DISABLE") != "1",
            task="attributes" if args.attributes else "label",
            train_size=args.train_size,
            valid_size=args.valid_size,
            time_limit=None if args.time_limit is None else 60 * args.time_limit,
            run_note=args.run_note,
            workers=args.workers,
            chosen_from=args.chosen_from,
        )
    except (ValueError, data.DatasetNotFoundError) as error:  # a setting or the data: say so
        raise SystemExit(f"error: {error}") from None
    print(format_table(summarize(results)))
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    # Through the package's module, not this __main__ copy, so that worker processes
    # (--workers) find the functions they run.
    from lrlc import experiments

    experiments.main()
