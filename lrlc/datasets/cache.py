"""A disk cache of decoded splits: one ``.pt`` file per dataset, split and source.

The folder is ``$LRLC_CACHE``, else ``$XDG_CACHE_HOME/lrlc``, else ``~/.cache/lrlc``; never
the data root, which may be shared and read-only. A file's name holds a hash of the source's
location and one of everything its contents depend on (the size and modification time of
the source files, the settings, the format), so a changed source makes a new entry and the
entry it replaces is deleted. For a folder of images the folder's own modification time
stands for its files: adding or removing images is seen, editing one in place is not.
Files are written to a temporary name and renamed, so a crash or an error never leaves a
half-written entry. Delete the folder at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

from lrlc.datasets.source import Source

__all__ = ["cache_dir", "entry_path", "read", "write"]

FORMAT = 2  # bump when the cached contents change meaning


def cache_dir() -> Path:
    """The cache folder: ``$LRLC_CACHE``, else ``$XDG_CACHE_HOME/lrlc``, else ``~/.cache/lrlc``."""
    if os.environ.get("LRLC_CACHE"):
        return Path(os.environ["LRLC_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path("~", ".cache").expanduser()
    return Path(base) / "lrlc"


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def entry_path(prefix: str, source: Source, settings: dict) -> Path:
    """The cache file of ``prefix`` (e.g. "mnist-train-quick") read from ``source``."""
    location = _hash([str(source.path.resolve()), source.kind])[:10]
    stats = []
    for path in source.watch:
        st = path.stat()
        stats.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    contents = _hash([FORMAT, prefix, location, stats, settings])[:16]
    return cache_dir() / f"{prefix}-{source.kind}-{location}-{contents}.pt"


def read(path: Path) -> dict | None:
    """The cached payload, or None if absent or unreadable (then it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True, mmap=True)
    except Exception:  # a damaged entry is rebuilt, never trusted
        return None


def write(path: Path, payload: dict) -> None:
    """Write atomically (temporary file, then rename) and delete the entries it replaces.

    A cache that cannot be written only warns: loading still works, just not faster.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                torch.save(payload, file)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        warnings.warn(
            f"could not write the data cache {path} ({error}); set LRLC_CACHE to a writable "
            "folder to make later loads fast",
            stacklevel=3,
        )
        return
    stale_prefix = path.name.rsplit("-", 1)[0] + "-"
    for old in path.parent.glob(f"{stale_prefix}*.pt"):
        if old != path:
            old.unlink(missing_ok=True)
