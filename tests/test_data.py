"""lrlc.data: every layout from tiny files written here, bad input, the cache, quick mode,
the device loader; and, when LRLC_DATA points at the real data (as in CI), checks on it."""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import pickle
import struct
import sys
import tarfile
import time
import types
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from devices import DEVICES
from PIL import Image

from lrlc import data
from lrlc.datasets import celeba, download, mnist
from lrlc.datasets.errors import CorruptDataError, DatasetNotFoundError

REAL_ROOT = os.environ.get("LRLC_DATA")  # read before the fixture below hides it
ENV = ("LRLC_DATA", "LRLC_QUICK", "LRLC_OFFLINE", "LRLC_CACHE", "XDG_CACHE_HOME")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No user settings leak in; caches go to tmp_path; nothing is downloaded by accident."""
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LRLC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LRLC_OFFLINE", "1")


def cached_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("*.pt")) if (tmp_path / "cache").is_dir() else []


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def bump(path: Path) -> None:
    """Move ``path``'s modification time a second ahead, as a later edit would."""
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))


# Writers of tiny datasets -----------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def make_mnist(root: Path, n_train: int = 50, n_test: int = 20, gz: bool = True) -> dict:
    rng = np.random.default_rng(0)
    arrays = {}
    for part, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) * 7 % 10).astype(np.uint8)
        image_name, label_name = mnist.FILES[part]
        suffix = ".gz" if gz else ""
        write_idx(root / "MNIST" / "raw" / f"{image_name}{suffix}", images)
        write_idx(root / "MNIST" / "raw" / f"{label_name}{suffix}", labels)
        arrays[part] = (images, labels)
    return arrays


def write_batch(path: Path, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    batch = {
        "batch_label": path.name,
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        "labels": [int(v) for v in rng.integers(0, 10, n)],
        "filenames": [f"{i}.png" for i in range(n)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        pickle.dump(batch, file)
    return batch["data"], batch["labels"]


def make_pickles(folder: Path, sizes: dict[str, int]) -> dict:
    return {
        name: write_batch(folder / name, n, seed) for seed, (name, n) in enumerate(sizes.items())
    }


def image_bytes(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": 95, "subsampling": 0} if fmt == "JPEG" else {}  # 4:4:4, no bleeding
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def make_tree(tree: Path, per_class: dict[str, int], fmt: str = "PNG") -> dict:
    """{(part, class, k): (32, 32, 3) uint8} written as tree/part/class/k.png (or .jpg)."""
    rng = np.random.default_rng(1)
    written = {}
    ext = "png" if fmt == "PNG" else "jpg"
    for part, n in per_class.items():
        for name in data.cifar10.CLASSES:
            (tree / part / name).mkdir(parents=True, exist_ok=True)
            for k in range(n):
                array = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                (tree / part / name / f"{k}.{ext}").write_bytes(image_bytes(array, fmt))
                written[part, name, k] = array
    return written


def tar_tree(tree: Path, tarball: Path) -> None:
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)


ATTRIBUTE_NAMES = [f"A{i}" for i in range(20)] + ["Male"] + [f"B{i}" for i in range(19)]


def face(height: int, width: int, inside: tuple, outside: tuple) -> np.ndarray:
    """An image whose official crop box is filled with ``inside``, the rest ``outside``."""
    top, left, h, w = celeba.crop_box(height, width)
    array = np.empty((height, width, 3), dtype=np.uint8)
    array[:] = outside
    array[top : top + h, left : left + w] = inside
    return array


def make_celeba(
    folder: Path, n: int = 12, size: tuple[int, int] = (109, 89), as_zip: bool = False
) -> dict:
    """n images (every third one Male), partition train/valid/test = rows % 3, plus 2 extra
    attribute rows without images (the images present are used)."""
    rng = np.random.default_rng(2)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    colours = {name: tuple(int(c) for c in rng.integers(30, 220, 3)) for name in names}
    blobs = {name: image_bytes(face(*size, colours[name], (255, 0, 255)), "JPEG") for name in names}
    if as_zip:
        with zipfile.ZipFile(folder / "img_align_celeba.zip", "w") as archive:
            for name, blob in blobs.items():
                archive.writestr(f"img_align_celeba/{name}", blob)
    else:
        (folder / "img_align_celeba").mkdir()
        for name, blob in blobs.items():
            (folder / "img_align_celeba" / name).write_bytes(blob)
    all_names = names + [f"{i:06d}.jpg" for i in range(n + 1, n + 3)]
    values = rng.choice([-1, 1], (len(all_names), 40))
    values[:, 20] = [1 if i % 3 == 0 else -1 for i in range(len(all_names))]
    rows = [
        f"{n} " + " ".join(f"{v:2d}" for v in row) for n, row in zip(all_names, values, strict=True)
    ]
    attr = [str(len(all_names)), " ".join(ATTRIBUTE_NAMES) + " "] + rows
    (folder / "list_attr_celeba.txt").write_text("\n".join(attr) + "\n")
    partition = [f"{name} {i % 3}" for i, name in enumerate(all_names)]
    (folder / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    return {"names": names, "colours": colours, "values": values}


# MNIST --------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_files_gzipped_or_not(tmp_path, gz):
    arrays = make_mnist(tmp_path / "root", gz=gz)
    train = data.load("mnist", "train", root=tmp_path / "root")
    valid = data.load("mnist", "valid", root=tmp_path / "root")
    test = data.load("mnist", "test", root=tmp_path / "root")
    # validation = the first 8% of the training file (4 of 50), training = the rest
    assert (len(train), len(valid), len(test)) == (46, 4, 20)
    images, labels = arrays["train"]
    assert valid.images.shape == (4, 1, 28, 28) and valid.images.dtype == torch.uint8
    assert torch.equal(valid.images[:, 0], torch.from_numpy(images[:4]))
    assert torch.equal(train.images[:, 0], torch.from_numpy(images[4:]))
    assert torch.equal(train.labels, torch.from_numpy(labels[4:]).long())
    assert train.labels.dtype == torch.int64
    assert torch.equal(test.images[:, 0], torch.from_numpy(arrays["test"][0]))
    assert train.classes == tuple("0123456789") and train.source == "idx"
    assert train.is_subset and "46 of the 55,200" in train.note
    assert train.attributes is None and train.attribute_names is None


# CIFAR-10 ----------------------------------------------------------------------------------


def test_cifar_pickles_whichever_batches_are_present(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    written = make_pickles(folder, {"data_batch_1": 30, "data_batch_3": 20, "test_batch": 10})
    train = data.load("cifar10", "train", root=tmp_path)
    valid = data.load("cifar10", "valid", root=tmp_path)
    test = data.load("cifar10", "test", root=tmp_path)
    assert (len(train), len(valid), len(test)) == (45, 5, 10)
    rows = np.concatenate([written["data_batch_1"][0], written["data_batch_3"][0]])
    labels = written["data_batch_1"][1] + written["data_batch_3"][1]
    # channel-major rows: 1024 red, 1024 green, 1024 blue values
    assert torch.equal(valid.images.reshape(5, -1), torch.from_numpy(rows[:5]))
    assert torch.equal(train.images[:, 1].reshape(45, -1), torch.from_numpy(rows[5:, 1024:2048]))
    assert train.labels.tolist() == labels[5:]
    assert test.images.shape == (10, 3, 32, 32) and train.source == "pickle"
    assert train.classes[0] == "airplane" and train.is_subset


def test_cifar_image_tree_interleaves_classes(tmp_path):
    written = make_tree(tmp_path / "cifar10-jpeg", {"train": 3, "test": 1})
    train = data.load("cifar10", "train", root=tmp_path)
    valid = data.load("cifar10", "valid", root=tmp_path)
    test = data.load("cifar10", "test", root=tmp_path)
    assert (len(train), len(valid), len(test)) == (27, 3, 10)
    # rows: image 0 of every class in class order, then image 1, ...; valid = first 10%
    assert valid.labels.tolist() == [0, 1, 2]
    assert train.labels.tolist() == list(range(3, 10)) + list(range(10)) * 2
    expected = written["train", "cat", 0]  # row 3 of the training file, row 0 of train
    assert torch.equal(train.images[0], torch.from_numpy(expected).permute(2, 0, 1))
    assert test.labels.tolist() == list(range(10))
    assert train.source == "images" and "interleave" in train.note and "JPEG" not in train.note
    assert "interleave" in valid.note and "interleave" not in test.note  # test is not cut


def test_a_subset_keeps_the_caveats_of_its_split(tmp_path):
    make_tree(tmp_path / "cifar10-jpeg", {"train": 20, "test": 2}, fmt="JPEG")
    for split in data.SPLITS:
        full = data.load("cifar10", split, root=tmp_path)
        assert "JPEG" in full.note
        part = full.subset(10)
        assert part.is_subset and part.note.startswith("A class-balanced subset")
        assert part.note.endswith(full.note)  # the JPEG caveat survives the subset
    make_tree(tmp_path / "png" / "cifar10-jpeg", {"train": 1, "test": 2})
    test = data.load("cifar10", "test", root=tmp_path / "png")
    assert "complete official" not in test.subset(10).note  # nothing else to keep


def test_cifar_tarball_reads_like_the_folder(tmp_path):
    make_tree(tmp_path / "a" / "cifar10-jpeg", {"train": 2, "test": 1}, fmt="JPEG")
    (tmp_path / "b").mkdir()
    tar_tree(tmp_path / "a" / "cifar10-jpeg", tmp_path / "b" / "cifar10-jpeg.tar.gz")
    for split in data.SPLITS:
        folder = data.load("cifar10", split, root=tmp_path / "a")
        tarball = data.load("cifar10", split, root=tmp_path / "b")
        assert torch.equal(folder.images, tarball.images)
        assert torch.equal(folder.labels, tarball.labels)
        assert tarball.path.endswith("cifar10-jpeg.tar.gz") and "JPEG" in tarball.note


def test_cifar_source_preference_and_choice(tmp_path):
    make_tree(tmp_path / "cifar10-jpeg", {"train": 1, "test": 1})
    make_pickles(tmp_path / "cifar-10-batches-py", {"data_batch_1": 10, "test_batch": 10})
    # partial pickles: the image tree is preferred; source= picks either
    assert data.load("cifar10", "test", root=tmp_path).source == "images"
    assert data.load("cifar10", "test", root=tmp_path, source="pickle").source == "pickle"
    # complete pickles (all five training batches) win
    make_pickles(tmp_path / "cifar-10-batches-py", {f"data_batch_{i}": 10 for i in range(2, 6)})
    assert data.load("cifar10", "test", root=tmp_path).source == "pickle"
    assert data.load("cifar10", "test", root=tmp_path, source="images").source == "images"


def tree_of_pickles(tree: Path, written: dict, extra: int = 2, fmt: str = "PNG", order=None):
    """An image tree holding the pickles' images as the official trees do: file k of a class
    is the class's k-th image in file order; ``extra`` more images of every class follow
    (the rest of the dataset). ``order(files)`` may reorder a class's files (a wrong tree)."""
    rng = np.random.default_rng(7)
    ext = "png" if fmt == "PNG" else "jpg"
    for part, names in (("train", ["data_batch_1"]), ("test", ["test_batch"])):
        rows = np.concatenate([written[n][0] for n in names])
        labels = np.array(sum((written[n][1] for n in names), []))
        for cls, name in enumerate(data.cifar10.CLASSES):
            arrays = list(rows[labels == cls].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            arrays += [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(extra)]
            arrays = order(arrays) if order else arrays
            (tree / part / name).mkdir(parents=True, exist_ok=True)
            for k, array in enumerate(arrays):
                (tree / part / name / f"{k}.{ext}").write_bytes(image_bytes(array, fmt))


def test_cifar_images_matched_are_the_tree_copies_of_the_pickles(tmp_path):
    written = make_pickles(tmp_path / "cifar-10-batches-py", {"data_batch_1": 40, "test_batch": 20})
    tree_of_pickles(tmp_path / "cifar10-jpeg", written)
    for split in data.SPLITS:
        exact = data.load("cifar10", split, root=tmp_path, source="pickle")
        copies = data.load("cifar10", split, root=tmp_path, source="images-matched")
        # lossless copies: the very same images, labels and order (valid = first 10%)
        assert torch.equal(copies.images, exact.images)
        assert torch.equal(copies.labels, exact.labels)
        assert copies.source == "images-matched" and copies.is_subset
        assert "copies of exactly the images of the pickles" in copies.note
        assert "JPEG" not in copies.note and "interleave" not in copies.note
    assert len(data.load("cifar10", "valid", root=tmp_path, source="images-matched")) == 4


def test_cifar_images_matched_from_jpeg_say_so(tmp_path):
    written = make_pickles(tmp_path / "cifar-10-batches-py", {"data_batch_1": 20, "test_batch": 10})
    tree_of_pickles(tmp_path / "cifar10-jpeg", written, fmt="JPEG")
    exact = data.load("cifar10", "test", root=tmp_path, source="pickle")
    copies = data.load("cifar10", "test", root=tmp_path, source="images-matched")
    assert "JPEG" in copies.note and torch.equal(copies.labels, exact.labels)
    difference = (copies.images.double() - exact.images.double()).abs()
    assert 0 < difference.mean() < 8  # close, not equal: quality-95 JPEG of noise


def test_cifar_images_matched_refuses_a_tree_that_is_not_the_pickles(tmp_path):
    written = make_pickles(tmp_path / "cifar-10-batches-py", {"data_batch_1": 40, "test_batch": 20})
    tree_of_pickles(tmp_path / "shuffled" / "cifar10-jpeg", written, order=lambda a: a[::-1])
    (tmp_path / "shuffled" / "cifar-10-batches-py").symlink_to(tmp_path / "cifar-10-batches-py")
    with pytest.raises(data.CorruptDataError, match="is not the pickles' image .*official order"):
        data.load("cifar10", "test", root=tmp_path / "shuffled", source="images-matched")
    tree_of_pickles(tmp_path / "short" / "cifar10-jpeg", written, order=lambda a: a[:-3])
    (tmp_path / "short" / "cifar-10-batches-py").symlink_to(tmp_path / "cifar-10-batches-py")
    with pytest.raises(data.CorruptDataError, match="fewer than the .* it is not a copy"):
        data.load("cifar10", "test", root=tmp_path / "short", source="images-matched")
    with pytest.raises(data.DatasetNotFoundError, match="source='images-matched'"):
        data.load("cifar10", "test", root=tmp_path, source="images-matched", download=False)


def test_cifar_shared_subset_folder_is_found(tmp_path):
    make_pickles(tmp_path / "cifar10-subset" / "cifar-10-batches-py", {"test_batch": 10})
    assert len(data.load("cifar10", "test", root=tmp_path)) == 10


# CelebA --------------------------------------------------------------------------------------


def test_celeba_crop_box_is_the_official_one_scaled():
    assert celeba.crop_box(218, 178) == (40, 20, 138, 138)
    assert celeba.crop_box(109, 89) == (20, 10, 69, 69)


@pytest.mark.parametrize("size", [(109, 89), (218, 178)])
def test_celeba_folder(tmp_path, size):
    made = make_celeba(tmp_path / "celeba", size=size)
    splits = {split: data.load("celeba", split, root=tmp_path) for split in data.SPLITS}
    # 12 images present (2 attribute rows without images are skipped), partition = i % 3
    assert [len(splits[s]) for s in data.SPLITS] == [4, 4, 4]
    train = splits["train"]
    assert train.images.shape == (4, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.attributes.shape == (4, 40) and train.attributes.dtype == torch.int64
    assert set(train.attributes.unique().tolist()) <= {0, 1}
    assert train.attribute_names == tuple(ATTRIBUTE_NAMES)
    assert torch.equal(train.labels, train.attributes[:, 20])
    assert train.labels.tolist() == [1, 1, 1, 1]  # rows 0, 3, 6, 9: every third is Male
    assert splits["valid"].labels.tolist() == [0, 0, 0, 0]
    expected = (made["values"][0::3][:4] > 0).astype(np.int64)
    assert torch.equal(train.attributes, torch.from_numpy(expected))
    assert train.classes == ("Female", "Male") and train.source == "folder"
    # the crop keeps exactly the box: every pixel is the box's colour, none of the magenta
    colours = torch.tensor([made["colours"][n] for n in made["names"][0::3]], dtype=torch.float)
    error = (train.images.float() - colours[:, :, None, None]).abs()
    assert error.mean() < 1 and error.max() <= 8  # one pixel off would show magenta: > 40
    assert train.is_subset and "not the official partition" in train.note


def test_celeba_zip_reads_like_the_folder(tmp_path):
    make_celeba(tmp_path / "a" / "celeba")
    make_celeba(tmp_path / "b" / "celeba", as_zip=True)
    for split in data.SPLITS:
        folder = data.load("celeba", split, root=tmp_path / "a")
        archive = data.load("celeba", split, root=tmp_path / "b")
        assert archive.source == "zip"
        assert torch.equal(folder.images, archive.images)
        assert torch.equal(folder.attributes, archive.attributes)


def test_celeba_shared_subset_folder_and_source_choice(tmp_path):
    make_celeba(tmp_path / "celeba-subset" / "celeba")
    assert data.load("celeba", "test", root=tmp_path).source == "folder"
    with pytest.raises(DatasetNotFoundError, match="source='zip'"):
        data.load("celeba", "test", root=tmp_path, source="zip")


# Corrupt data: a clear error naming the file, nothing cached ---------------------------------


def corrupt_mnist_magic(root: Path) -> Path:
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + bytes(100)))
    return path


def corrupt_mnist_truncated(root: Path) -> Path:
    path = root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    return path


def corrupt_mnist_gzip(root: Path) -> Path:
    path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    return path


def corrupt_mnist_count(root: Path) -> Path:
    path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    write_idx(path, np.zeros(49, dtype=np.uint8))
    return path


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (corrupt_mnist_magic, "magic number 00000903"),
        (corrupt_mnist_truncated, "truncated"),
        (corrupt_mnist_gzip, "cannot be read"),
        (corrupt_mnist_count, "expected 50 labels"),
    ],
)
def test_corrupt_mnist(tmp_path, corrupt, message):
    make_mnist(tmp_path / "root")
    path = corrupt(tmp_path / "root")
    with pytest.raises(CorruptDataError, match=message) as info:
        data.load("mnist", "train", root=tmp_path / "root")
    assert info.value.path == str(path) and str(path) in str(info.value)
    assert cached_files(tmp_path) == []


def test_corrupt_cifar_pickles(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    make_pickles(folder, {"data_batch_1": 10, "test_batch": 10})
    path = folder / "data_batch_1"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptDataError, match="not a CIFAR-10 batch") as info:
        data.load("cifar10", "train", root=tmp_path)
    assert info.value.path == str(path)

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(CorruptDataError, match="refusing to load"):
        data.load("cifar10", "train", root=tmp_path)
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize("as_tarball", [False, True])
def test_corrupt_cifar_tree(tmp_path, as_tarball):
    tree = tmp_path / "src" / "cifar10-jpeg"
    make_tree(tree, {"train": 1, "test": 1})
    (tree / "test" / "cat" / "0.png").write_bytes(b"not an image")
    root = tmp_path / "src"
    if as_tarball:
        root = tmp_path / "tar"
        root.mkdir()
        tar_tree(tree, root / "cifar10-jpeg.tar.gz")
    with pytest.raises(CorruptDataError, match="not a readable image") as info:
        data.load("cifar10", "test", root=root)
    assert info.value.path.endswith("test/cat/0.png")
    assert cached_files(tmp_path) == []


def test_cifar_tree_with_an_unknown_class(tmp_path):
    make_tree(tmp_path / "cifar10-jpeg", {"test": 1})
    (tmp_path / "cifar10-jpeg" / "test" / "unicorn").mkdir()
    with pytest.raises(CorruptDataError, match="'unicorn' is not a CIFAR-10 class"):
        data.load("cifar10", "test", root=tmp_path)


def test_corrupt_tarball(tmp_path):
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(gzip.compress(b"x" * 1000)[:50])
    with pytest.raises(CorruptDataError, match="cifar10-jpeg.tar.gz"):
        data.load("cifar10", "test", root=tmp_path)


def celeba_unreadable_image(folder: Path) -> tuple[str, str]:
    (folder / "img_align_celeba" / "000004.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    return "000004.jpg", "not a readable image"


def celeba_image_without_row(folder: Path) -> tuple[str, str]:
    lines = (folder / "list_attr_celeba.txt").read_text().splitlines()
    lines = ["13", *lines[1:4], *lines[5:]]  # drop the row of 000003.jpg
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines))
    return "list_attr_celeba.txt", "disagrees with the images.*000003.jpg"


def celeba_bad_value(folder: Path) -> tuple[str, str]:
    path = folder / "list_attr_celeba.txt"
    path.write_text(path.read_text().replace("000002.jpg -1", "000002.jpg  0", 1))
    path.write_text(path.read_text().replace("000002.jpg  1", "000002.jpg  0", 1))
    return "list_attr_celeba.txt", "line 4 is not a file name and 40 values of -1 or 1"


def celeba_bad_count(folder: Path) -> tuple[str, str]:
    path = folder / "list_attr_celeba.txt"
    path.write_text("99\n" + path.read_text().split("\n", 1)[1])
    return "list_attr_celeba.txt", "line 1 promises 99 rows, found 14"


def celeba_bad_partition(folder: Path) -> tuple[str, str]:
    path = folder / "list_eval_partition.txt"
    path.write_text(path.read_text().replace("000005.jpg 1", "000005.jpg 7"))
    return "list_eval_partition.txt", "line 5 is not"


@pytest.mark.parametrize(
    "corrupt",
    [
        celeba_unreadable_image,
        celeba_image_without_row,
        celeba_bad_value,
        celeba_bad_count,
        celeba_bad_partition,
    ],
)
def test_corrupt_celeba(tmp_path, corrupt):
    make_celeba(tmp_path / "celeba")
    name, message = corrupt(tmp_path / "celeba")
    with pytest.raises(CorruptDataError, match=message) as info:
        data.load("celeba", "train", root=tmp_path)
    assert info.value.path.endswith(name)
    assert cached_files(tmp_path) == []


def test_corrupt_celeba_zip_member(tmp_path):
    make_celeba(tmp_path / "celeba", as_zip=True)
    path = tmp_path / "celeba" / "img_align_celeba.zip"
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("img_align_celeba/000013.jpg", b"garbage")
    lines = (tmp_path / "celeba" / "list_attr_celeba.txt").read_text()
    assert "000013.jpg" in lines  # one of the extra rows, now with an (unreadable) image
    with pytest.raises(CorruptDataError, match="000013.jpg: not a readable image"):
        data.load("celeba", "train", root=tmp_path)


# Missing data and downloads ------------------------------------------------------------------


def test_missing_mnist_names_root_layout_and_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        data.load("mnist", root=tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert str(tmp_path.resolve()) in message and "the root= argument" in message
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "LRLC_OFFLINE=1" in message and "download=True" in message


def test_missing_data_from_lrlc_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LRLC_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=r"\$LRLC_DATA") as info:
        data.load("cifar10", download=False)
    assert "cifar-10-batches-py" in str(info.value) and "download=False" in str(info.value)


def test_missing_celeba_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        data.load("celeba", root=tmp_path, download=True)
    message = str(info.value)
    assert celeba.URL in message and str(tmp_path / "celeba") in message
    assert "img_align_celeba.zip" in message and "list_eval_partition.txt" in message
    assert "Colab" not in message  # the Drive recipe only where it applies


def test_missing_celeba_in_colab_says_how_to_use_google_drive(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(DatasetNotFoundError, match=r"In Colab: .*drive\.mount") as info:
        data.load("celeba", root=tmp_path)
    assert "LRLC_DATA" in str(info.value) and "Appendix B" in str(info.value)


def test_available_says_whether_load_would_find_the_data(tmp_path, monkeypatch):
    assert not data.available("celeba", root=tmp_path)
    assert not data.available("MNIST", root=tmp_path)
    make_celeba(tmp_path / "celeba")
    make_mnist(tmp_path)
    assert data.available("celeba", root=tmp_path) and data.available("mnist", root=tmp_path)
    assert data.available("celeba", root=tmp_path, source="folder")
    assert not data.available("celeba", root=tmp_path, source="zip")
    monkeypatch.setenv("LRLC_DATA", str(tmp_path))
    assert data.available("celeba") and not data.available("cifar10")
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        data.available("svhn")


def test_failed_download_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(name, target):
        partial = target / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"half a file")
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(download, "_torchvision_download", fail)
    monkeypatch.delenv("LRLC_OFFLINE")
    root = tmp_path / "root"
    with pytest.raises(DatasetNotFoundError, match="the download failed.*no network") as info:
        data.load("mnist", root=root)
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    assert files_under(root) == set()


def test_download_moves_complete_files_into_place(tmp_path, monkeypatch):
    calls = []

    def fake(name, target):
        calls.append(name)
        make_mnist(target, n_train=25, n_test=10)

    monkeypatch.setattr(download, "_torchvision_download", fake)
    root = tmp_path / "root"
    with pytest.raises(DatasetNotFoundError):
        data.load("mnist", root=root)  # LRLC_OFFLINE=1: no download
    assert calls == []
    test = data.load("mnist", "test", root=root, download=True)  # the argument wins
    assert calls == ["mnist"] and len(test) == 10
    assert files_under(root) == {"MNIST", "MNIST/raw"} | {
        f"MNIST/raw/{name}.gz" for pair in mnist.FILES.values() for name in pair
    }


# Names, roots -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "imagenet"}, "unknown dataset 'imagenet'; valid names: mnist, cifar10, celeba"),
        (
            {"name": "mnist", "split": "val"},
            "unknown split 'val'; valid splits: train, valid, test",
        ),
        ({"name": "cifar10", "source": "jpeg"}, "valid: pickle, images"),
        ({"name": "celeba", "source": "pickle"}, "valid: folder, zip"),
    ],
)
def test_unknown_names(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load(**kwargs)


def test_data_root_from_the_book_folder_is_the_repository_data(tmp_path, monkeypatch):
    monkeypatch.delenv("LRLC_DATA", raising=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    assert data.data_root() == Path("data")  # no README one up: not the repository
    (tmp_path / "data" / "README.md").write_text("datasets go here")
    assert data.data_root() == Path("..") / "data"
    (tmp_path / "book" / "data").mkdir()  # a data folder of its own wins
    assert data.data_root() == Path("data")


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.data_root() == Path("data")
    monkeypatch.setenv("LRLC_DATA", "/from/env")
    assert data.data_root() == Path("/from/env")
    assert data.data_root("/from/arg") == Path("/from/arg")
    make_mnist(tmp_path / "data")
    monkeypatch.delenv("LRLC_DATA")
    assert len(data.load("mnist", "test")) == 20


# The cache --------------------------------------------------------------------------------


def test_a_cached_split_names_the_root_as_this_load_spells_it(tmp_path, monkeypatch):
    make_mnist(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    first = data.load("mnist", "test", root="data")
    assert first.path == str(Path("data") / "MNIST" / "raw")
    again = data.load("mnist", "test", root=str(tmp_path / "data"))  # from the cache
    assert len(cached_files(tmp_path)) == 1
    assert again.path == str(tmp_path / "data" / "MNIST" / "raw")
    assert torch.equal(again.images, first.images)


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    make_mnist(tmp_path / "root")
    first = data.load("mnist", "train", root=tmp_path / "root")
    assert len(cached_files(tmp_path)) == 1
    monkeypatch.setattr(mnist, "read_idx", lambda path: pytest.fail("read the source again"))
    second = data.load("mnist", "train", root=tmp_path / "root")
    assert torch.equal(first.images, second.images) and second.note == first.note
    assert second.classes == first.classes and isinstance(second.classes, tuple)


def test_a_changed_source_replaces_its_cache_entry(tmp_path):
    make_mnist(tmp_path / "root")
    data.load("mnist", "test", root=tmp_path / "root")
    before = cached_files(tmp_path)
    path = tmp_path / "root" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.full((20, 28, 28), 7, dtype=np.uint8))
    bump(path)
    assert (data.load("mnist", "test", root=tmp_path / "root").images == 7).all()
    after = cached_files(tmp_path)
    assert len(after) == 1 and after != before


def test_cache_off_and_damaged_entries(tmp_path):
    make_mnist(tmp_path / "root")
    data.load("mnist", "test", root=tmp_path / "root", cache=False)
    assert cached_files(tmp_path) == []
    good = data.load("mnist", "test", root=tmp_path / "root")
    (entry,) = cached_files(tmp_path)
    entry.write_bytes(b"damaged")
    again = data.load("mnist", "test", root=tmp_path / "root")
    assert torch.equal(good.images, again.images)
    assert torch.load(entry, weights_only=True)["images"].shape == (20, 1, 28, 28)


def test_nothing_is_written_into_the_data_root(tmp_path):
    make_mnist(tmp_path / "root")
    make_celeba(tmp_path / "root" / "celeba")
    before = files_under(tmp_path / "root")
    for name in ("mnist", "celeba"):
        for split in data.SPLITS:
            data.load(name, split, root=tmp_path / "root")
    assert files_under(tmp_path / "root") == before
    assert len(cached_files(tmp_path)) == 6


def test_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("LRLC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "lrlc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == Path.home() / ".cache" / "lrlc"


# Quick mode --------------------------------------------------------------------------------


def test_balanced_first():
    labels = torch.tensor([0, 1, 1, 0, 2, 1, 0, 0, 2, 1])
    assert data.balanced_first(labels, 6, 3).tolist() == [0, 1, 2, 3, 4, 8]
    assert data.balanced_first(labels, 9, 3).tolist() == [0, 1, 2, 3, 4, 5, 6, 8]


def test_quick_mode_from_the_environment_or_the_argument(tmp_path, monkeypatch):
    make_mnist(tmp_path / "root", n_train=300)
    monkeypatch.setattr(data, "QUICK_SIZES", {"train": 50, "valid": 10, "test": 10})
    monkeypatch.setenv("LRLC_QUICK", "1")
    train = data.load("mnist", "train", root=tmp_path / "root")
    assert len(train) == 50 and train.class_counts().tolist() == [5] * 10
    assert train.is_subset and "Quick mode" in train.note
    full = data.load("mnist", "train", root=tmp_path / "root", quick=False)
    assert len(full) == 276 and "Quick mode" not in full.note
    # the quick rows are the first five of every class, in file order
    first = data.balanced_first(full.labels, 50, 10)
    assert torch.equal(train.images, full.images[first])
    assert len(cached_files(tmp_path)) == 2


# The device loader -------------------------------------------------------------------------


def tiny(name: str = "cifar10", n: int = 10) -> data.ImageDataset:
    images = torch.arange(n * 3 * 32 * 32).reshape(n, 3, 32, 32).remainder(256).to(torch.uint8)
    return data.ImageDataset(
        name, "train", images, torch.arange(n) % 10, data.cifar10.CLASSES, "test", "", True, ""
    )


@pytest.mark.parametrize("device", DEVICES)
def test_loader_covers_every_sample_once_per_epoch(device):
    ds = tiny(n=10)
    loader = ds.loader(4, device=device, shuffle=True, seed=0)
    assert len(loader) == 3 and loader.num_samples == 10
    seen = torch.cat([y for _, y in loader])
    assert sorted(seen.tolist()) == list(range(10)) and seen.device.type == device
    assert len(ds.loader(4, drop_last=True, device=device)) == 2
    assert [len(y) for _, y in ds.loader(4, device=device, drop_last=True)] == [4, 4]
    ordered = torch.cat([y for _, y in ds.loader(4, device=device)])
    assert ordered.tolist() == list(range(10))


@pytest.mark.parametrize("device", DEVICES)
def test_loader_seeds(device):
    ds = tiny(n=50)

    def epochs(loader):
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]

    first = epochs(ds.loader(8, device=device, shuffle=True, seed=3))
    again = epochs(ds.loader(8, device=device, shuffle=True, seed=3))
    assert first == again and first[0] != first[1]
    assert epochs(ds.loader(8, device=device, shuffle=True, seed=4)) != first
    torch.manual_seed(1)
    a = epochs(ds.loader(8, device=device, shuffle=True))
    torch.manual_seed(1)
    assert epochs(ds.loader(8, device=device, shuffle=True)) == a


@pytest.mark.parametrize("name", ["mnist", "cifar10", "celeba"])
def test_normalization(name):
    norm = data.NORMALIZATION[name]
    pixels = torch.tensor([0, 128, 255], dtype=torch.uint8)
    x = norm(pixels)
    assert x.dtype == torch.float32
    low, high = (-1.0, 1.0) if name == "mnist" else (0.0, 1.0)
    assert norm.range == pytest.approx((low, high))
    assert x[0].item() == pytest.approx(low) and x[2].item() == pytest.approx(high)
    assert torch.allclose(norm.denormalize(x) * 255, pixels.float(), atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_augmentation_is_a_padded_crop_and_a_flip(device):
    ds = tiny(n=16)
    x_aug, _ = next(iter(ds.loader(16, device=device, augment=True, seed=0)))
    assert x_aug.shape == (16, 3, 32, 32)
    padded = ds.normalization(F.pad(ds.images, (4, 4, 4, 4)))  # zero (black) padding
    flips = 0
    for i, image in enumerate(x_aug.cpu()):  # not shuffled: row i is image i
        windows = [
            (window, flip)
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
            for window in [padded[i, :, dy : dy + 32, dx : dx + 32]]
            if torch.equal(window.flip(-1) if flip else window, image)
        ]
        assert windows, "an augmented image is not a padded crop, flipped or not"
        flips += windows[0][1]
    assert 0 < flips < 16
    plain, _ = next(iter(ds.loader(16, device=device, augment=data.Augment(0, False))))
    assert torch.equal(plain.cpu(), ds.normalization(ds.images))
    # the parts alone (--augment crop, --augment flip): crops never flipped, flips never moved
    crops, _ = next(iter(ds.loader(16, device=device, augment=data.Augment(4, False), seed=0)))
    flips, _ = next(iter(ds.loader(16, device=device, augment=data.Augment(0, True), seed=0)))
    images = ds.normalization(ds.images)
    mirrored = [torch.equal(f, i.flip(-1)) for f, i in zip(flips.cpu(), images, strict=True)]
    assert 0 < sum(mirrored) < 16
    assert all(
        m or torch.equal(f, i) for m, f, i in zip(mirrored, flips.cpu(), images, strict=True)
    )
    assert not torch.equal(crops.cpu(), images) and not any(
        torch.equal(c, i.flip(-1)) for c, i in zip(crops.cpu(), images, strict=True)
    )


def test_attribute_baselines_are_the_majority_share_of_each_attribute():
    attributes = torch.tensor([[1, 0, 1, 0], [1, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]])
    ds = dataclasses.replace(tiny(n=4), name="celeba", attributes=attributes)
    baselines = ds.attribute_baselines()
    assert baselines.dtype == torch.float64
    # present in 3, 1, 2 and 0 of the 4 images: the majority is right 3, 3, 2 and 4 times
    assert baselines.tolist() == [3 / 4, 3 / 4, 2 / 4, 4 / 4]
    with pytest.raises(ValueError, match="has no attributes"):
        tiny().attribute_baselines()


def test_loader_targets_and_bad_arguments(tmp_path):
    make_celeba(tmp_path / "celeba")
    ds = data.load("celeba", "train", root=tmp_path)
    loader = ds.loader(3, device="cpu", targets="attributes")
    x, y = next(iter(loader))
    assert y.shape == (3, 40) and y.dtype == torch.float32 and x.shape == (3, 3, 32, 32)
    assert loader.dataset is ds and "celeba train" in repr(loader)
    with pytest.raises(ValueError, match="has no attributes"):
        tiny().loader(2, targets="attributes")
    with pytest.raises(ValueError, match="targets must be"):
        tiny().loader(2, targets="boxes")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        tiny().loader(0)
    with pytest.raises(ValueError, match="uint8"):
        data.DeviceLoader(torch.zeros(2, 3, 4, 4), torch.zeros(2), 1, data.NORMALIZATION["mnist"])


# Real data: when LRLC_DATA points at it; CI must have it (never skipped there) -------------


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("real-cache")


@pytest.fixture
def real(monkeypatch, real_cache):
    """The real data root; skipped only outside CI when LRLC_DATA is not set."""
    if not REAL_ROOT:
        if os.environ.get("CI"):
            pytest.fail("CI must set LRLC_DATA to the real data (../shared/data)")
        pytest.skip("LRLC_DATA is not set: no real data to check")
    monkeypatch.setenv("LRLC_CACHE", str(real_cache))
    return Path(REAL_ROOT)


def require(path: Path) -> None:
    """Real data of a given layout: skip where it is absent, except in CI (fail)."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI's real data lacks {path}")
        pytest.skip(f"{path} is absent")


OFFICIAL_MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist(real, monkeypatch):
    sizes = {s: len(data.load("mnist", s, root=real, quick=False)) for s in data.SPLITS}
    assert sizes == {"train": 55_200, "valid": 4_800, "test": 10_000}
    monkeypatch.setattr(mnist, "read_idx", lambda path: pytest.fail("read the source again"))
    test = data.load("mnist", "test", root=real, quick=False)  # from the cache
    assert test.class_counts().tolist() == OFFICIAL_MNIST_TEST_COUNTS
    assert not test.is_subset and test.note == "The complete official split."
    assert test.images.shape == (10_000, 1, 28, 28) and test.images.max() == 255
    x, _ = next(iter(test.loader(256, device="cpu")))
    assert x.min() == -1 and x.max() == 1


def test_real_quick_mode_is_small_and_balanced(real, monkeypatch):
    monkeypatch.setenv("LRLC_QUICK", "1")
    for split, size in data.QUICK_SIZES.items():
        ds = data.load("mnist", split, root=real)
        assert len(ds) == size and ds.class_counts().tolist() == [size // 10] * 10
        assert ds.is_subset and "Quick mode" in ds.note


def test_real_cifar10_lossless_subset(real):
    require(real / "cifar10-subset" / "cifar-10-batches-py")
    splits = {
        s: data.load("cifar10", s, root=real, source="pickle", quick=False) for s in data.SPLITS
    }
    assert {s: len(d) for s, d in splits.items()} == {"train": 3_600, "valid": 400, "test": 1_000}
    valid = splits["valid"]
    assert valid.images[0, 0, 0, :8].tolist() == [59, 43, 50, 68, 98, 119, 139, 145]
    assert valid.labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert all(d.is_subset and "A subset" in d.note for d in splits.values())


def test_real_cifar10_complete_jpeg_copy(real):
    require(real / "cifar10-jpeg.tar.gz")
    require(real / "cifar10-subset" / "cifar-10-batches-py")
    test = data.load("cifar10", "test", root=real, source="images", quick=False)
    assert len(test) == 10_000 and not test.is_subset and "JPEG" in test.note
    assert test.class_counts().tolist() == [1_000] * 10
    # image k of class c is row 10 k + c; it is the k-th image of class c in the official
    # order, which the lossless subset holds: the copies agree to JPEG precision
    exact = data.load("cifar10", "test", root=real, source="pickle", quick=False)
    ranks = torch.zeros(len(exact), dtype=torch.long)
    for c in range(10):
        members = exact.labels == c
        ranks[members] = torch.arange(int(members.sum()))
    rows = ranks * 10 + exact.labels
    assert torch.equal(test.labels[rows], exact.labels)
    mse = (test.images[rows].float() - exact.images.float()).pow(2).mean()
    assert 10 * torch.log10(255**2 / mse) > 25  # PSNR in dB
    train = data.load("cifar10", "train", root=real, source="images", quick=False)
    assert len(train) == 45_000 and train.class_counts().tolist() == [4_500] * 10


def test_real_celeba_subset(real):
    require(real / "celeba-subset" / "celeba")
    splits = {s: data.load("celeba", s, root=real, quick=False) for s in data.SPLITS}
    assert {s: len(d) for s, d in splits.items()} == {"train": 8_000, "valid": 1_000, "test": 1_000}
    train = splits["train"]
    assert train.images.shape == (8_000, 3, 32, 32) and train.attributes.shape == (8_000, 40)
    male = train.attribute_names.index("Male")
    assert torch.equal(train.labels, train.attributes[:, male])
    assert abs(train.labels.float().mean().item() - 0.42) < 0.02
    smiling = train.attributes[:, train.attribute_names.index("Smiling")].float().mean()
    assert abs(smiling.item() - 0.48) < 0.03
    assert all(d.is_subset and "not the official partition" in d.note for d in splits.values())
    quick = data.load("celeba", "train", root=real, quick=True)
    assert quick.class_counts().tolist() == [1_000, 1_000]


def test_subset_is_class_balanced_and_says_so():
    labels = torch.tensor([0, 1, 1, 2, 0, 2, 1, 0, 2, 2])
    full = data.ImageDataset(
        "mnist", "train", torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1), labels,
        ("a", "b", "c"), "idx", "somewhere", False, "The complete official split.",
        attributes=torch.arange(10).view(10, 1),
    )  # fmt: skip
    part = full.subset(6)  # the first 2 of each class, in file order
    assert part.labels.tolist() == [0, 1, 1, 2, 0, 2]
    assert part.images.flatten().tolist() == [0, 1, 2, 3, 4, 5]
    assert part.attributes.flatten().tolist() == [0, 1, 2, 3, 4, 5]
    assert part.is_subset and not full.is_subset
    assert "first 2 images of each class, 6 of the 10" in part.note
    assert "complete official" not in part.note
    assert full.subset(10) is full
    with pytest.raises(ValueError, match="at least 3"):
        full.subset(2)


# From a mutation audit: each test fails where the code it guards is broken ----------------


def test_celeba_valid_and_test_are_their_own_partitions(tmp_path):
    made = make_celeba(tmp_path / "celeba")
    for split, start in (("valid", 1), ("test", 2)):
        ds = data.load("celeba", split, root=tmp_path)
        expected = (made["values"][start::3][:4] > 0).astype(np.int64)
        assert torch.equal(ds.attributes, torch.from_numpy(expected))


def test_shuffled_batches_keep_each_image_with_its_label():
    n = 50
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 32, 32).contiguous()
    ds = data.ImageDataset(
        "cifar10", "train", images, torch.arange(n), data.cifar10.CLASSES, "t", "", True, ""
    )
    for x, y in ds.loader(8, device="cpu", shuffle=True, seed=0):
        assert torch.equal((x[:, 0, 0, 0] * 255).round().long(), y)


def test_celeba_crop_and_resize_round_an_antialiased_bicubic():
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 218, 178), dtype=torch.uint8, generator=g)
    crop = image[None, :, 40:178, 20:158].float()
    ref = F.interpolate(crop, size=(32, 32), mode="bicubic", antialias=True).round().clamp(0, 255)
    assert torch.equal(celeba._crop_resize([image]), ref.to(torch.uint8))


def test_an_edited_celeba_partition_file_is_not_served_from_the_cache(tmp_path):
    make_celeba(tmp_path / "celeba")
    assert len(data.load("celeba", "test", root=tmp_path)) == 4
    path = tmp_path / "celeba" / "list_eval_partition.txt"
    path.write_text(path.read_text().replace("000001.jpg 0", "000001.jpg 2"))
    bump(path)
    assert len(data.load("celeba", "test", root=tmp_path)) == 5


def test_an_image_added_to_a_class_folder_is_not_served_from_the_cache(tmp_path):
    make_tree(tmp_path / "cifar10-jpeg", {"train": 1, "test": 1})
    assert len(data.load("cifar10", "test", root=tmp_path)) == 10
    extra = tmp_path / "cifar10-jpeg" / "test" / "cat" / "1.png"
    extra.write_bytes(image_bytes(np.zeros((32, 32, 3), np.uint8), "PNG"))
    bump(extra.parent)
    assert len(data.load("cifar10", "test", root=tmp_path)) == 11


def test_a_rewrite_of_the_same_size_is_not_served_from_the_cache(tmp_path):
    make_mnist(tmp_path / "root", gz=False)
    data.load("mnist", "test", root=tmp_path / "root")
    path = tmp_path / "root" / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    write_idx(path, np.full((20, 28, 28), 7, dtype=np.uint8))  # same shape: same size
    bump(path)
    assert (data.load("mnist", "test", root=tmp_path / "root").images == 7).all()


def test_a_rewrite_with_the_old_mtime_is_not_served_from_the_cache(tmp_path):
    make_mnist(tmp_path / "root")
    data.load("mnist", "test", root=tmp_path / "root")
    raw = tmp_path / "root" / "MNIST" / "raw"
    stats = {p: p.stat() for p in raw.iterdir()}
    make_mnist(tmp_path / "root", n_test=30)  # like cp -p / rsync -t of another copy
    for p, st in stats.items():
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len(data.load("mnist", "test", root=tmp_path / "root")) == 30


def test_an_image_tree_sorts_its_file_names_as_numbers(tmp_path):
    written = make_tree(tmp_path / "cifar10-jpeg", {"train": 12, "test": 12})
    test = data.load("cifar10", "test", root=tmp_path)
    # row 10 k + c is file k of class c: row 100 is airplane/10.png, not airplane/2.png
    expected = torch.from_numpy(written["test", "airplane", 10]).permute(2, 0, 1)
    assert torch.equal(test.images[100], expected)


def test_an_mnist_label_of_10_is_corrupt_data(tmp_path):
    make_mnist(tmp_path / "root")
    write_idx(
        tmp_path / "root" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz",
        np.full(20, 10, dtype=np.uint8),
    )
    with pytest.raises(CorruptDataError, match="not a digit"):
        data.load("mnist", "test", root=tmp_path / "root")


def test_quick_celeba_attributes_follow_the_rows_it_keeps(tmp_path, monkeypatch):
    make_celeba(tmp_path / "celeba", n=30)
    monkeypatch.setattr(data, "QUICK_SIZES", {"train": 4, "valid": 4, "test": 4})
    ds = data.load("celeba", "train", root=tmp_path, quick=True)
    assert ds.attributes.shape == (len(ds), 40)
    assert torch.equal(ds.labels, ds.attributes[:, 20])


def test_changed_quick_sizes_are_not_served_from_the_cache(tmp_path, monkeypatch):
    make_mnist(tmp_path / "root", n_train=300)
    monkeypatch.setattr(data, "QUICK_SIZES", {"train": 50, "valid": 10, "test": 10})
    assert len(data.load("mnist", "train", root=tmp_path / "root", quick=True)) == 50
    monkeypatch.setattr(data, "QUICK_SIZES", {"train": 100, "valid": 10, "test": 10})
    assert len(data.load("mnist", "train", root=tmp_path / "root", quick=True)) == 100


def test_the_validation_size_rounds_to_the_nearest_image(tmp_path):
    make_pickles(tmp_path / "cifar-10-batches-py", {"data_batch_1": 45, "test_batch": 5})
    assert len(data.load("cifar10", "valid", root=tmp_path)) == 5  # round(4.5) half up


def test_an_unseeded_loader_follows_torch_manual_seed():
    ds = tiny(n=50)
    orders = []
    for s in (1, 2):
        torch.manual_seed(s)
        orders.append(torch.cat([y for _, y in ds.loader(8, device="cpu", shuffle=True)]).tolist())
    assert orders[0] != orders[1]


def test_num_samples_counts_only_full_batches_with_drop_last():
    assert tiny(n=10).loader(4, device="cpu", drop_last=True).num_samples == 8


def test_flips_turn_half_the_images():
    ds = tiny(n=2000)
    x, _ = next(iter(ds.loader(2000, device="cpu", augment=data.Augment(0, True), seed=0)))
    flipped = (x != ds.normalization(ds.images)).flatten(1).any(1).float().mean()
    assert 0.45 < flipped < 0.55


def test_each_image_draws_its_own_crop_from_every_offset_with_its_loaders_seed():
    """With padding 1, pixel (1, 1) of a crop is pixel (dy, dx) of the image, so images whose
    channels hold their row and column (+ 1) give each crop's offset back."""
    n = 300
    rows, cols = torch.meshgrid(torch.arange(1, 33), torch.arange(1, 33), indexing="ij")
    images = torch.stack([rows, cols, rows]).expand(n, 3, 32, 32).to(torch.uint8).contiguous()
    ds = data.ImageDataset(
        "cifar10", "train", images, torch.arange(n) % 10, data.cifar10.CLASSES, "t", "", True, ""
    )

    def batch(augment, global_seed):
        torch.manual_seed(global_seed)  # the loader's seed alone must decide its draws
        x, _ = next(iter(ds.loader(n, device="cpu", augment=augment, seed=0)))
        return x

    x = batch(data.Augment(1, False), global_seed=1)
    dy, dx = (ds.normalization.denormalize(x[:, :2, 1, 1]) * 255).round().long().T - 1
    assert set(dy.tolist()) == set(dx.tolist()) == {0, 1, 2}  # every offset, per image
    assert (dy != dx).any()  # rows and columns drawn apart
    assert torch.equal(batch(data.Augment(1, False), global_seed=2), x)
    flips = batch(data.Augment(0, True), global_seed=1)
    assert torch.equal(batch(data.Augment(0, True), global_seed=2), flips)


def test_augmentation_draws_anew_for_every_batch_and_epoch():
    ds = tiny(n=16)
    images = ds.images.clone()
    images[8:] = images[:8]
    ds = data.ImageDataset("cifar10", "train", images, ds.labels, ds.classes, "t", "", True, "")
    loader = ds.loader(8, device="cpu", augment=True, seed=0)
    (a, _), (b, _) = list(loader)
    assert not torch.equal(a, b)  # same images, other crops
    (c, _), _ = list(loader)
    assert not torch.equal(a, c)  # next epoch, other crops


def test_missing_data_names_where_its_root_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("LRLC_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        data.load("cifar10", download=False)
    assert "($LRLC_DATA)" in str(info.value) and "neither root=" not in str(info.value)
    monkeypatch.delenv("LRLC_DATA")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="the default ./data"):
        data.load("cifar10", download=False)
