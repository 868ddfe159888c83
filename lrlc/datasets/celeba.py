"""CelebA in torchvision's layout, cropped and resized as the paper: (3, 32, 32) uint8.

Under the data root, ``celeba/`` (torchvision's), else ``celeba-subset/celeba/``, holding
``img_align_celeba/`` (a folder of JPEGs) or ``img_align_celeba.zip`` (read without
extracting it), ``list_attr_celeba.txt`` and ``list_eval_partition.txt``. The images present
are used; rows of the text files without an image are skipped, and an image without a row
is an error. Every image is cropped to the official box, the 138x138 square at offset
(40, 20) (rows 40-177, columns 20-157) of the 218x178 (H x W) originals, scaled in proportion
for smaller copies (69x69 at (20, 10) on 109x89), then resized to 32x32: bicubic and
antialiased (the official code resizes bicubically, without antialiasing).
"""

from __future__ import annotations

import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lrlc.datasets.errors import CorruptDataError, DatasetNotFoundError
from lrlc.datasets.images import decode
from lrlc.datasets.source import Part, Source

__all__ = ["CLASSES", "KINDS", "LABEL_ATTRIBUTE", "crop_box", "find", "layout", "how_to_get"]

CLASSES = ("Female", "Male")
LABEL_ATTRIBUTE = "Male"
KINDS = ("folder", "zip")
FOLDERS = (Path("celeba"), Path("celeba-subset", "celeba"))
IMAGES, ZIP = "img_align_celeba", "img_align_celeba.zip"
ATTRIBUTES, PARTITION = "list_attr_celeba.txt", "list_eval_partition.txt"
PARTITION_CODES = {"train": 0, "valid": 1, "test": 2}
OFFICIAL_ROWS = 202_599
OWN_PARTITION_NOTE = "is not the official partition"  # in the note of a partition file's splits
OFFICIAL_SIZE = (218, 178)  # (H, W) of the aligned-and-cropped images
BOX = (40, 20, 138, 138)  # (top, left, height, width) on OFFICIAL_SIZE, as the official code
IMAGE_SIZE = 32
CHUNK = 1024  # images decoded before they are cropped and resized together
URL = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


def layout(root: Path) -> str:
    """The layout expected under ``root``."""
    folder = root / FOLDERS[0]
    return (
        f"  {folder / IMAGES}/*.jpg (or {folder / ZIP})\n"
        f"  {folder / ATTRIBUTES}\n"
        f"  {folder / PARTITION}"
    )


def how_to_get(root: Path) -> str:
    """Where to get CelebA by hand and where to put it (automatic downloads mostly fail)."""
    folder = root / FOLDERS[0]
    return (
        "CelebA is not downloaded automatically: its Google Drive files refuse most "
        f"automatic downloads (quota). Get it by hand from {URL} ('Align&Cropped Images', "
        "Google Drive or Baidu): Img/img_align_celeba.zip, Anno/list_attr_celeba.txt and "
        f"Eval/list_eval_partition.txt, and put the three files in {folder}/ (the zip as it "
        f"is, or extracted to {folder / IMAGES}/). torchvision.datasets.CelebA("
        f"'{root}', download=True) writes the same layout when Google Drive lets it."
        + (COLAB_HINT if "google.colab" in sys.modules else "")
    )


COLAB_HINT = (
    " In Colab: put the three files in your Google Drive, mount it "
    "(from google.colab import drive; drive.mount('/content/drive')) and set "
    "os.environ['LRLC_DATA'] to the Drive folder that holds celeba/ before the first "
    "data.load (the book's Appendix B, 'In Colab')."
)


def find(root: Path, kind: str | None = None) -> Source | None:
    """The first CelebA folder with images and both text files (as ``kind``), or None."""
    for folder in (root / f for f in FOLDERS):
        texts = (folder / ATTRIBUTES, folder / PARTITION)
        if not all(t.is_file() for t in texts):
            continue
        if kind in (None, "folder") and (folder / IMAGES).is_dir():
            images = folder / IMAGES
            return Source("folder", images, (images, *texts), partial(_read, images, folder))
        if kind in (None, "zip") and (folder / ZIP).is_file():
            images = folder / ZIP
            return Source("zip", images, (images, *texts), partial(_read, images, folder))
    return None


def crop_box(height: int, width: int) -> tuple[int, int, int, int]:
    """The official crop box (top, left, height, width), scaled to an image of this size."""
    sy, sx = height / OFFICIAL_SIZE[0], width / OFFICIAL_SIZE[1]
    top, left, h, w = BOX
    return (round(top * sy), round(left * sx), round(h * sy), round(w * sx))


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptDataError(path, f"cannot be read as text ({error})") from error


def _read_attributes(path: Path) -> tuple[dict[str, int], tuple[str, ...], np.ndarray]:
    """list_attr_celeba.txt -> (row of each file name, 40 names, values (N, 40) in {0, 1})."""
    lines = _lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise CorruptDataError(path, "expected a count on line 1 and attribute names on line 2")
    names = tuple(lines[1].split())
    if LABEL_ATTRIBUTE not in names:
        raise CorruptDataError(path, f"no {LABEL_ATTRIBUTE!r} attribute on line 2")
    files, flat = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1 or not {"-1", "1"}.issuperset(fields[1:]):
            raise CorruptDataError(
                path, f"line {number} is not a file name and {len(names)} values of -1 or 1"
            )
        files.append(fields[0])
        flat.append("".join(fields[1:]).replace("-1", "0"))
    if int(lines[0]) != len(files):
        raise CorruptDataError(path, f"line 1 promises {int(lines[0])} rows, found {len(files)}")
    values = np.frombuffer("".join(flat).encode("ascii"), dtype=np.uint8) - ord("0")
    index = {name: i for i, name in enumerate(files)}
    return index, names, values.reshape(len(files), len(names)).astype(np.int64)


def _read_partition(path: Path) -> dict[str, int]:
    """list_eval_partition.txt -> {file name: 0 (train), 1 (valid) or 2 (test)}."""
    partition = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise CorruptDataError(path, f"line {number} is not '<file name> 0|1|2': {line!r}")
        partition[fields[0]] = int(fields[1])
    return partition


def _present(images: Path) -> dict[str, str]:
    """{file name: zip member or file name} of the JPEGs in the folder or the zip."""
    if images.suffix != ".zip":
        return {
            p.name: p.name
            for p in images.iterdir()
            if p.name.lower().endswith(".jpg") and not p.name.startswith(".")
        }
    try:
        with zipfile.ZipFile(images) as archive:
            members = archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise CorruptDataError(images, f"not a readable zip file ({error})") from error
    jpegs = [m for m in members if m.lower().endswith(".jpg") and "/." not in f"/{m}"]
    return {PurePosixPath(m).name: m for m in jpegs}


@contextmanager
def _reader(images: Path, members: dict[str, str]) -> Iterator[Callable[[str], bytes]]:
    """A function (file name -> bytes) that reads from the folder or the open zip."""
    if images.suffix != ".zip":
        yield lambda name: (images / members[name]).read_bytes()
        return
    with zipfile.ZipFile(images) as archive:
        yield lambda name: archive.read(members[name])


def _read_bytes(read: Callable[[str], bytes], images: Path, name: str) -> bytes:
    try:
        return read(name)
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise CorruptDataError(_name(images, name), f"cannot be read ({error})") from error


def _crop_resize(images: list[Tensor]) -> Tensor:
    """(3, H, W) uint8 images -> (n, 3, 32, 32) uint8, cropped to the scaled official box."""
    out = torch.empty(len(images), 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(tuple(image.shape[1:]), []).append(i)
    for (height, width), members in groups.items():
        top, left, h, w = crop_box(height, width)
        batch = torch.stack([images[i] for i in members])[:, :, top : top + h, left : left + w]
        resized = F.interpolate(
            batch.float(), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic", antialias=True
        )
        out[members] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _read(images: Path, folder: Path, part: str) -> Part:
    attributes_path, partition_path = folder / ATTRIBUTES, folder / PARTITION
    index, names, values = _read_attributes(attributes_path)
    partition = _read_partition(partition_path)
    present = _present(images)
    if not present:
        raise DatasetNotFoundError(
            f"no CelebA images (*.jpg) in {images}. {how_to_get(folder.parent)}"
        )
    for path, table in ((attributes_path, index), (partition_path, partition)):
        missing = sorted(set(present) - set(table))
        if missing:
            raise CorruptDataError(
                path,
                f"disagrees with the images: {len(missing)} image(s) in {images} have no row, "
                f"e.g. {missing[0]}",
            )
    chosen = sorted(n for n in present if partition[n] == PARTITION_CODES[part])
    if not chosen:
        raise DatasetNotFoundError(
            f"none of the {len(present):,} CelebA images in {images} is in the {part!r} "
            f"partition of {partition_path}. Fix: add that partition's images, or use a "
            "partition file that assigns some of these images to it"
        )
    attributes = torch.from_numpy(values[[index[n] for n in chosen]])
    labels = attributes[:, names.index(LABEL_ATTRIBUTE)].clone()

    def decode_rows(rows: Tensor) -> Tensor:
        out = torch.empty(len(rows), 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
        files = [chosen[r] for r in rows.tolist()]
        with _reader(images, present) as read:
            for start in range(0, len(files), CHUNK):
                chunk = files[start : start + CHUNK]
                decoded = [decode(_read_bytes(read, images, n), _name(images, n)) for n in chunk]
                out[start : start + len(chunk)] = _crop_resize(decoded)
        return out

    official = len(partition) == OFFICIAL_ROWS
    note = (
        f"{partition_path} {OWN_PARTITION_NOTE} ({len(partition):,} rows, official "
        f"{OFFICIAL_ROWS:,}): results are not comparable with the paper's"
    )
    return Part(
        labels, decode_rows, attributes, names, subset=not official, note="" if official else note
    )


def _name(images: Path, name: str) -> str:
    return f"{images}:{name}" if images.suffix == ".zip" else str(images / name)
